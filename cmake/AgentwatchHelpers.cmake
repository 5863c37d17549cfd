# Helpers shared by every target of the build.

# aw_embed_migrations(TARGET NAMESPACE DIR): compiles every DIR/NNN_name.sql into
# TARGET as a sorted std::vector<common::Migration> returned by
# NAMESPACE::Migrations(), so a binary carries its schema with it.
function(aw_embed_migrations target namespace dir)
  file(GLOB sql_files CONFIGURE_DEPENDS ${dir}/*.sql)
  list(SORT sql_files)
  string(REPLACE ";" "|" files_arg "${sql_files}")
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_migrations.cc)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DNAMESPACE=${namespace}
            "-DFILES=${files_arg}" -P ${PROJECT_SOURCE_DIR}/cmake/EmbedMigrations.cmake
    DEPENDS ${sql_files} ${PROJECT_SOURCE_DIR}/cmake/EmbedMigrations.cmake
    COMMENT "Embedding migrations for ${target}"
    VERBATIM)
  add_library(${target} STATIC ${out})
  target_link_libraries(${target} PUBLIC common)
endfunction()

# aw_test(NAME LABEL SOURCES... LIBS ...): a GoogleTest executable registered
# with CTest under LABEL (unit, integration or e2e).
function(aw_test name label)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} common_testing GTest::gmock_main)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS ${label})
  if(NOT label STREQUAL "unit")
    set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
  endif()
endfunction()

# aw_link_jemalloc(TARGET): jemalloc as TARGET's allocator (Debian's
# libjemalloc-dev, installed by scripts/setup and in the images' builder
# stage; libjemalloc2 at run time). Linked outside the toolchain's default
# --as-needed, which is then restored, since nothing calls it by name (it
# replaces malloc; CMake drops a repeated --pop-state from the line, so not
# --push-state / --pop-state). Where it is missing, glibc's malloc stays.
find_library(AW_JEMALLOC NAMES jemalloc libjemalloc.so.2)
function(aw_link_jemalloc target)
  if(AW_JEMALLOC)
    target_link_libraries(${target} PRIVATE -Wl,--no-as-needed ${AW_JEMALLOC} -Wl,--as-needed)
  else()
    message(STATUS "${target}: jemalloc not found, glibc malloc")
  endif()
endfunction()
