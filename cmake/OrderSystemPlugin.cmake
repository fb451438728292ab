# ordersystem_add_plugin(<name> SOURCES <entry and glue .cpp> [LIBS <targets>])
# Builds <build>/lib/ordersystem/plugins/<name>.so with hidden visibility (only the descriptor
# entry is exported) and -Wl,--no-undefined so a missing symbol fails the link, not a request.
function(ordersystem_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "${name}"
    LIBRARY_OUTPUT_DIRECTORY "${ORDERSYSTEM_PLUGIN_OUTPUT_DIR}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${name} PRIVATE "-Wl,--no-undefined")
  target_link_libraries(${name} PRIVATE ordersystem_sdk ${ARG_LIBS})
  install(TARGETS ${name} LIBRARY DESTINATION "${ORDERSYSTEM_PLUGIN_SUBDIR}" COMPONENT runtime)
  set_property(GLOBAL APPEND PROPERTY ORDERSYSTEM_PLUGINS ${name})
endfunction()

# ordersystem_add_test(<name> SOURCES <.cpp> [LIBS <targets>] [LABELS <labels>] [TIMEOUT <s>])
# A GoogleTest executable whose tests ctest discovers one by one.
function(ordersystem_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gmock GTest::gtest_main Threads::Threads)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  # gtest_discover_tests (CMake 3.25) flattens list-valued properties, so several labels are
  # joined into one ("integration;redis" -> "integration-redis"): ctest -L takes a regex, so
  # both -L integration and -L redis still select it. The build and source folders are compiled
  # into the test support library; ORDERSYSTEM_BUILD_DIR in the environment overrides them.
  string(REPLACE ";" "-" _labels "${ARG_LABELS}")
  gtest_discover_tests(${name}
    DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${_labels}" ENVIRONMENT "ORDERSYSTEM_BUILD_DIR=${CMAKE_BINARY_DIR}")
endfunction()
