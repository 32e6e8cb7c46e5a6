# SPDX-License-Identifier: GPL-2.0-only
#
# ctest: cmake/CheckLayers.cmake passes the project's tree and rejects a planted upward include.
# Run as: cmake -DSOURCE_DIR=<root> -DPROJECT_LAYERS=a,b,... -DWORK_DIR=<scratch dir> -P layering_test.cmake
cmake_minimum_required(VERSION 3.25)
set(script ${SOURCE_DIR}/cmake/CheckLayers.cmake)
set(layers "util,core,sim/world,sim/check")

function(check_tree root expect_ok expect_text)
  if(root STREQUAL SOURCE_DIR)
    set(layers ${PROJECT_LAYERS})
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${root} -DLAYERS=${layers} -P ${script}
    RESULT_VARIABLE result ERROR_VARIABLE err OUTPUT_VARIABLE out)
  if(expect_ok AND NOT result EQUAL 0)
    message(FATAL_ERROR "expected ${root} to pass, got:\n${err}")
  endif()
  if(NOT expect_ok AND result EQUAL 0)
    message(FATAL_ERROR "expected ${root} to fail (${expect_text}), it passed")
  endif()
  if(NOT expect_ok AND NOT err MATCHES "${expect_text}")
    message(FATAL_ERROR "expected '${expect_text}' in the error, got:\n${err}")
  endif()
endfunction()

# A tree whose arrows all point down passes.
set(good ${WORK_DIR}/good)
file(REMOVE_RECURSE ${good})
file(WRITE ${good}/util/a.h "#include <vector>\n#include \"absl/status/status.h\"\n")
file(WRITE ${good}/core/b.h "#include \"util/a.h\"\n")
file(WRITE ${good}/sim/world/c.cc "#include \"core/b.h\"\n#include \"sim/world/c.h\"\n")
file(WRITE ${good}/sim/world/c.h "")
file(WRITE ${good}/sim/check/d.cc "#include \"sim/world/c.h\"\n#include \"util/a.h\"\n")
file(MAKE_DIRECTORY ${good}/absl)  # a folder of that name does not make absl/ a project path
check_tree(${good} TRUE "")

# core/ including the simulator fails, naming the file and the header.
set(bad ${WORK_DIR}/bad)
file(REMOVE_RECURSE ${bad})
file(COPY ${good}/ DESTINATION ${bad})
file(WRITE ${bad}/core/e.cc "#include \"sim/world/c.h\"\n")
check_tree(${bad} FALSE "core/e.cc \\(layer core\\): includes sim/world/c.h of the higher layer sim/world")

# A lower sim layer including a higher one fails too.
set(bad2 ${WORK_DIR}/bad2)
file(REMOVE_RECURSE ${bad2})
file(COPY ${good}/ DESTINATION ${bad2})
file(WRITE ${bad2}/sim/world/f.h "#include \"sim/check/g.h\"\n")
check_tree(${bad2} FALSE "sim/world/f.h \\(layer sim/world\\): includes sim/check/g.h")

# A layer including tests/ fails.
set(bad3 ${WORK_DIR}/bad3)
file(REMOVE_RECURSE ${bad3})
file(COPY ${good}/ DESTINATION ${bad3})
file(WRITE ${bad3}/tests/support/h.h "")
file(WRITE ${bad3}/sim/check/i.cc "#include \"tests/support/h.h\"\n")
check_tree(${bad3} FALSE "outside every layer")

# And the project's own tree passes.
check_tree(${SOURCE_DIR} TRUE "")
