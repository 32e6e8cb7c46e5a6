# SPDX-License-Identifier: GPL-2.0-only
#
# Fails when a source file includes a header of a higher layer (docs/architecture.md).
# Run as: cmake -DSOURCE_DIR=<root> -DLAYERS=util,core,... -DSTAMP=<file> -P CheckLayers.cmake
# LAYERS lists the layer folders from the bottom up; a file may include its own layer's headers
# and those of the layers below it. Folders not in LAYERS (tests/, bench/) are not checked, and
# no layer may include them. Other paths with a slash (absl/..., gtest/...) are libraries.
cmake_minimum_required(VERSION 3.25)
if(NOT SOURCE_DIR OR NOT LAYERS)
  message(FATAL_ERROR "CheckLayers.cmake: SOURCE_DIR and LAYERS are required")
endif()
string(REPLACE "," ";" LAYERS "${LAYERS}")

# The layer index of an include path or a file path (relative to SOURCE_DIR), or -1. The longest
# matching folder wins, so sim/world/x.h belongs to sim/world even if sim were a layer too.
function(layer_of path out)
  set(best -1)
  set(best_length 0)
  set(index 0)
  foreach(layer IN LISTS LAYERS)
    string(LENGTH "${layer}/" length)
    string(SUBSTRING "${path}" 0 ${length} prefix)
    if(prefix STREQUAL "${layer}/" AND length GREATER best_length)
      set(best ${index})
      set(best_length ${length})
    endif()
    math(EXPR index "${index} + 1")
  endforeach()
  set(${out} ${best} PARENT_SCOPE)
endfunction()

# The top folders of project paths: those of the layers, and the folders above every layer.
set(project_tops tests bench)
foreach(layer IN LISTS LAYERS)
  string(REGEX REPLACE "/.*" "" top "${layer}")
  list(APPEND project_tops ${top})
endforeach()

set(violations "")
set(files_checked 0)
foreach(layer IN LISTS LAYERS)
  file(GLOB_RECURSE sources RELATIVE "${SOURCE_DIR}" "${SOURCE_DIR}/${layer}/*.h"
    "${SOURCE_DIR}/${layer}/*.cc")
  foreach(source IN LISTS sources)
    layer_of("${source}" own)
    if(NOT own EQUAL -1)
      list(GET LAYERS ${own} own_name)
      if(NOT own_name STREQUAL layer)
        continue()  # a nested layer's file: checked under its own folder
      endif()
    endif()
    math(EXPR files_checked "${files_checked} + 1")
    file(STRINGS "${SOURCE_DIR}/${source}" includes REGEX "^#include \"[^\"]+\"")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" header "${line}")
      string(FIND "${header}" "/" slash)
      if(slash EQUAL -1)
        continue()  # not a project path
      endif()
      layer_of("${header}" target)
      if(target EQUAL -1)
        # A project path that is in no layer (tests/, bench/, sim/x.h) may not be included.
        string(SUBSTRING "${header}" 0 ${slash} top)
        if(top IN_LIST project_tops)
          string(APPEND violations "  ${source}: includes ${header}, outside every layer\n")
        endif()
      elseif(target GREATER own)
        list(GET LAYERS ${target} target_name)
        string(APPEND violations
          "  ${source} (layer ${layer}): includes ${header} of the higher layer ${target_name}\n")
      endif()
    endforeach()
  endforeach()
endforeach()

if(files_checked EQUAL 0)
  message(FATAL_ERROR "CheckLayers.cmake: no source files under ${SOURCE_DIR}")
endif()
if(violations)
  message(FATAL_ERROR "layering: a layer includes a higher one (docs/architecture.md):\n${violations}")
endif()
if(STAMP)
  file(WRITE "${STAMP}" "${files_checked} files checked\n")
endif()
