# Warnings for every target (STYLE.md §11); -Werror only for developers and CI.
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
                    -Wformat=2 -Wwrite-strings -Wno-unused-parameter)
if(DEVELOPER)
  add_compile_options(-Werror)
endif()
