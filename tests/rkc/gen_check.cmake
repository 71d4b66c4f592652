# SPDX-License-Identifier: MIT
# gen_check.cmake: one check of rkc's output for one schema, run by ctest:
#   cmake -DMODE=golden|c|cxx|cuda -DRKC=rkc -DSCHEMA=x.rk -DWORK=dir
#         [-DGOLDEN=dir] [-DCC=cc] [-DCXX=c++] [-DNVCC=nvcc] [-DRUNTIME=dir]
#         -P gen_check.cmake
# golden: generates twice (the bytes must be equal) and compares c, cuda and
#         manifest outputs with GOLDEN/ (refresh: tests/golden/refresh.sh).
# c/cxx:  compiles NAME.rk.c as C11 / includes NAME.rk.h from C++17, both
#         with -Wall -Wextra -Werror -pedantic, and (cxx) NAME.rk.c as C++20.
# cuda:   nvcc -arch=sm_90 -c NAME.rk.cu with every warning an error.
# rkc runs in the schema's folder with its file name, as refresh.sh does, so
# the #line paths in the outputs do not depend on the build folder.
get_filename_component(dir "${SCHEMA}" DIRECTORY)
get_filename_component(file "${SCHEMA}" NAME)
string(REGEX REPLACE "\\.rk$" "" name "${file}")
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/a" "${WORK}/b")

function(gen out)
  execute_process(COMMAND "${RKC}" -o "${out}" --emit=c,cuda,manifest
                          -M "${out}/deps.d" "${file}"
                  WORKING_DIRECTORY "${dir}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "rkc failed (${rc}) on ${SCHEMA}")
  endif()
endfunction()

# Generates every schema the file imports too (the header includes theirs).
function(gen_imports out)
  file(READ "${out}/deps.d" deps)
  string(REGEX REPLACE "^[^:]*:" "" deps "${deps}")
  string(REGEX MATCHALL "[^ \\\\\n]+\\.rk" rks "${deps}")
  foreach(rk IN LISTS rks)
    if(NOT rk STREQUAL file)
      execute_process(COMMAND "${RKC}" -o "${out}" --emit=c "${rk}"
                      WORKING_DIRECTORY "${dir}" RESULT_VARIABLE rc)
      if(NOT rc EQUAL 0)
        message(FATAL_ERROR "rkc failed (${rc}) on ${rk}")
      endif()
    endif()
  endforeach()
endfunction()

set(outs ${name}.rk.h ${name}.rk.c ${name}.rk.cu ${name}.rk.yaml)
set(strict -Wall -Wextra -Werror -pedantic)

if(MODE STREQUAL "golden")
  gen("${WORK}/a")
  gen("${WORK}/b")
  foreach(o IN LISTS outs)
    execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files
                            "${WORK}/a/${o}" "${WORK}/b/${o}" RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "two runs gave different ${o}")
    endif()
    execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files
                            "${WORK}/a/${o}" "${GOLDEN}/${o}" RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${o} differs from ${GOLDEN}/${o}\n"
              "  diff -u ${GOLDEN}/${o} ${WORK}/a/${o}\n"
              "  refresh when intended: tests/golden/refresh.sh")
    endif()
  endforeach()
elseif(MODE STREQUAL "c")
  gen("${WORK}/a")
  gen_imports("${WORK}/a")
  execute_process(COMMAND "${CC}" -std=c11 ${strict} -I "${RUNTIME}" -I "${WORK}/a"
                          -c "${WORK}/a/${name}.rk.c" -o "${WORK}/a/${name}.o"
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}.rk.c does not compile cleanly as C11")
  endif()
elseif(MODE STREQUAL "cxx")
  gen("${WORK}/a")
  gen_imports("${WORK}/a")
  file(WRITE "${WORK}/a/use.cpp" "#include \"${name}.rk.h\"\nint main() { return 0; }\n")
  execute_process(COMMAND "${CXX}" -std=c++17 ${strict} -I "${RUNTIME}" -I "${WORK}/a"
                          -c "${WORK}/a/use.cpp" -o "${WORK}/a/use.o"
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}.rk.h does not compile cleanly as C++17")
  endif()
  # The .rk.c itself as C++20 (its designated initializers are C++20;
  # without -pedantic, which flags the C99 forms C++ accepts as well), for
  # builds that compile every source as C++.
  execute_process(COMMAND "${CXX}" -std=c++20 -Wall -Wextra -Werror -x c++
                          -I "${RUNTIME}" -I "${WORK}/a"
                          -c "${WORK}/a/${name}.rk.c" -o "${WORK}/a/src.o"
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}.rk.c does not compile cleanly as C++20")
  endif()
elseif(MODE STREQUAL "cuda")
  gen("${WORK}/a")
  execute_process(COMMAND "${NVCC}" -arch=sm_90 -Werror all-warnings
                          -c "${WORK}/a/${name}.rk.cu" -o "${WORK}/a/${name}.cu.o"
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}.rk.cu does not compile cleanly with nvcc")
  endif()
else()
  message(FATAL_ERROR "gen_check.cmake: unknown MODE '${MODE}'")
endif()
