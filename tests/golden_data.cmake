# Golden data: images written by a real Linux 6.1 kernel, stored zstd-compressed in
# tests/data/golden/<case>/*.img.zst and decompressed at build time into
# <build>/tests/golden/<case>/*.img. Tests find them through kGoldenImageDir
# (tests/support/golden.h); the manifests are read from the source tree.
find_program(ZSTD_EXECUTABLE zstd REQUIRED)
file(GLOB_RECURSE SNAPSIM_GOLDEN_ZST CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_SOURCE_DIR}/data/golden/*.img.zst)
set(SNAPSIM_GOLDEN_IMAGE_DIR ${CMAKE_CURRENT_BINARY_DIR}/golden)
set(SNAPSIM_GOLDEN_IMAGES)
foreach(zst ${SNAPSIM_GOLDEN_ZST})
  file(RELATIVE_PATH rel ${CMAKE_CURRENT_SOURCE_DIR}/data/golden ${zst})
  string(REGEX REPLACE "\\.zst$" "" rel ${rel})
  set(out ${SNAPSIM_GOLDEN_IMAGE_DIR}/${rel})
  get_filename_component(out_dir ${out} DIRECTORY)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${ZSTD_EXECUTABLE} -q -d -f ${zst} -o ${out}
    DEPENDS ${zst}
    COMMENT "Decompressing golden image ${rel}"
    VERBATIM)
  list(APPEND SNAPSIM_GOLDEN_IMAGES ${out})
endforeach()
add_custom_target(golden_data DEPENDS ${SNAPSIM_GOLDEN_IMAGES})
add_dependencies(snapsim_test_support golden_data)
target_compile_definitions(snapsim_test_support PUBLIC
  SNAPSIM_GOLDEN_IMAGE_DIR="${SNAPSIM_GOLDEN_IMAGE_DIR}")
