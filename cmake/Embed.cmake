# embed_files(target header symbol base_dir subdirs...): turns files into a C table (see
# src/http/assets.h) so the binary needs nothing from the disk: web assets and SQL migrations.
function(embed_files target header symbol base)
  set(globs)
  foreach(d ${ARGN})
    list(APPEND globs ${base}/${d}/*)
  endforeach()
  file(GLOB_RECURSE files CONFIGURE_DEPENDS ${globs})
  # The dashboard is bundled with the npm packages the lock file pins (scripts/gen-embed).
  if(EXISTS ${CMAKE_SOURCE_DIR}/package-lock.json)
    list(APPEND files ${CMAKE_SOURCE_DIR}/package-lock.json)
  endif()
  set(out ${CMAKE_BINARY_DIR}/gen/${symbol}.c)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/gen
    COMMAND sh ${CMAKE_SOURCE_DIR}/scripts/gen-embed ${out} ${header} ${symbol} ${base} ${ARGN}
    DEPENDS ${files} ${CMAKE_SOURCE_DIR}/scripts/gen-embed
    COMMENT "Embedding ${symbol}")
  add_library(${target} STATIC ${out})
  target_include_directories(${target} PUBLIC ${CMAKE_SOURCE_DIR}/src)
endfunction()
