# SPDX-License-Identifier: MIT
# gen.cmake (included by tests/rkc/CMakeLists.txt): tests of rkc's back end:
# the template engine, generation through rkc_core, the CLI, the wire format
# (hand-built tables and generated code), and per schema (tests/ok, the
# examples, tests/rkc/schemas): golden files + same bytes twice, the output
# compiled as C11 and C++17 (and by nvcc when found) without warnings.
set(GEN_CHECK ${CMAKE_CURRENT_SOURCE_DIR}/gen_check.cmake)
set(GEN_SCHEMAS ${CMAKE_CURRENT_SOURCE_DIR}/schemas)

add_executable(test_gen_tmpl test_tmpl.c)
target_compile_options(test_gen_tmpl PRIVATE ${RK_WARN})
target_link_libraries(test_gen_tmpl PRIVATE rkc_core PkgConfig::CMOCKA)
add_test(NAME test_gen_tmpl COMMAND test_gen_tmpl)

add_executable(test_gen_output test_gen.c)
target_compile_options(test_gen_output PRIVATE ${RK_WARN})
target_compile_definitions(test_gen_output PRIVATE _GNU_SOURCE
  RKC_TEST_DIR="${PROJECT_SOURCE_DIR}/tests")
target_link_libraries(test_gen_output PRIVATE rkc_core PkgConfig::CMOCKA)
add_test(NAME test_gen_output COMMAND test_gen_output)

add_executable(test_gen_cli test_gen_cli.c)
target_compile_options(test_gen_cli PRIVATE ${RK_WARN})
target_compile_definitions(test_gen_cli PRIVATE _GNU_SOURCE
  RKC_EXE="$<TARGET_FILE:rkc>" RKC_TEST_DIR="${PROJECT_SOURCE_DIR}/tests")
target_link_libraries(test_gen_cli PRIVATE PkgConfig::CMOCKA)
add_dependencies(test_gen_cli rkc)
add_test(NAME test_gen_cli COMMAND test_gen_cli)

# Wire format with hand-built tables (no rkc involved).
add_executable(test_wire test_wire.c)
target_compile_options(test_wire PRIVATE ${RK_WARN})
target_link_libraries(test_wire PRIVATE ringkernel::rk PkgConfig::CMOCKA)
add_test(NAME test_wire COMMAND test_wire)

# Round trips through generated code (schemas/wireall.rk: every field kind).
set(GEN_WIRE_DIR ${CMAKE_CURRENT_BINARY_DIR}/gen_wireall)
add_custom_command(
  OUTPUT ${GEN_WIRE_DIR}/wireall.rk.h ${GEN_WIRE_DIR}/wireall.rk.c
  COMMAND ${CMAKE_COMMAND} -E make_directory ${GEN_WIRE_DIR}
  COMMAND rkc -o ${GEN_WIRE_DIR} --emit=c ${GEN_SCHEMAS}/wireall.rk
  DEPENDS rkc ${GEN_SCHEMAS}/wireall.rk
  COMMENT "rkc wireall.rk")
add_executable(test_gen_wire test_gen_wire.c ${GEN_WIRE_DIR}/wireall.rk.c)
target_include_directories(test_gen_wire PRIVATE ${GEN_WIRE_DIR})
target_compile_options(test_gen_wire PRIVATE ${RK_WARN} -pedantic)
target_link_libraries(test_gen_wire PRIVATE ringkernel::rk PkgConfig::CMOCKA)
add_test(NAME test_gen_wire COMMAND test_gen_wire)

set_tests_properties(test_gen_tmpl test_gen_output test_gen_cli test_wire
  test_gen_wire PROPERTIES TIMEOUT 10)

# Per schema: golden + determinism, C, C++, CUDA.
find_program(RK_NVCC nvcc HINTS /usr/local/cuda/bin ENV CUDA_HOME PATH_SUFFIXES bin)
file(GLOB GEN_OK CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/ok/*.rk)
file(GLOB GEN_OWN CONFIGURE_DEPENDS ${GEN_SCHEMAS}/*.rk)
file(GLOB GEN_EX CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/examples/*/*.rk)
foreach(group ok own ex)
  string(TOUPPER ${group} G)
  foreach(schema IN LISTS GEN_${G})
    get_filename_component(n ${schema} NAME_WE)
    if(group STREQUAL "ex")
      get_filename_component(d ${schema} DIRECTORY)
      get_filename_component(d ${d} NAME)
      set(id ex_${d}_${n})
      set(golden ${PROJECT_SOURCE_DIR}/tests/golden/examples/${d}/${n})
    else()
      set(id ${group}_${n})
      set(golden ${PROJECT_SOURCE_DIR}/tests/golden/${group}/${n})
    endif()
    set(args -DRKC=$<TARGET_FILE:rkc> -DSCHEMA=${schema}
      -DRUNTIME=${PROJECT_SOURCE_DIR}/runtime)
    add_test(NAME test_gen_golden_${id} COMMAND ${CMAKE_COMMAND} -DMODE=golden
      ${args} -DGOLDEN=${golden} -DWORK=${CMAKE_CURRENT_BINARY_DIR}/gen_golden/${id}
      -P ${GEN_CHECK})
    add_test(NAME test_gen_compile_c_${id} COMMAND ${CMAKE_COMMAND} -DMODE=c
      ${args} -DCC=${CMAKE_C_COMPILER} -DWORK=${CMAKE_CURRENT_BINARY_DIR}/gen_c/${id}
      -P ${GEN_CHECK})
    add_test(NAME test_gen_compile_cxx_${id} COMMAND ${CMAKE_COMMAND} -DMODE=cxx
      ${args} -DCXX=${CMAKE_CXX_COMPILER} -DWORK=${CMAKE_CURRENT_BINARY_DIR}/gen_cxx/${id}
      -P ${GEN_CHECK})
    set_tests_properties(test_gen_golden_${id} test_gen_compile_c_${id}
      test_gen_compile_cxx_${id} PROPERTIES TIMEOUT 60)
    if(RK_NVCC)
      add_test(NAME test_gen_compile_cuda_${id} COMMAND ${CMAKE_COMMAND} -DMODE=cuda
        ${args} -DNVCC=${RK_NVCC} -DWORK=${CMAKE_CURRENT_BINARY_DIR}/gen_cuda/${id}
        -P ${GEN_CHECK})
      set_tests_properties(test_gen_compile_cuda_${id} PROPERTIES TIMEOUT 60 LABELS nvcc)
    endif()
  endforeach()
endforeach()
