# embed_assets(target): turns the files under web/ into a C table (gen/assets.c) so the binary
# serves the tracker, the demo site and the dashboard without reading the disk.
function(embed_assets target)
  file(GLOB_RECURSE assets CONFIGURE_DEPENDS
       ${CMAKE_SOURCE_DIR}/web/tracker/*.js ${CMAKE_SOURCE_DIR}/web/demo/*
       ${CMAKE_SOURCE_DIR}/web/dashboard/*)
  set(out ${CMAKE_BINARY_DIR}/gen/assets.c)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/gen
    COMMAND sh ${CMAKE_SOURCE_DIR}/scripts/gen-embed ${CMAKE_SOURCE_DIR}/web ${out}
    DEPENDS ${assets} ${CMAKE_SOURCE_DIR}/scripts/gen-embed
    COMMENT "Embedding web assets")
  add_library(${target} STATIC ${out})
  target_include_directories(${target} PUBLIC ${CMAKE_SOURCE_DIR}/src)
endfunction()
