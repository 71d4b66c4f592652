# SPDX-License-Identifier: MIT
# rk_generate(): runs rkc on .rk schemas at build time and adds the generated
# C to a target. One custom command per schema, driven by rkc's depfile, so a
# change in an imported schema regenerates what imports it. Used in-tree (the
# rkc target) and from the installed package (the imported ringkernel::rkc).
#
#   rk_generate(TARGET <tgt> SCHEMAS a.rk [b.rk ...]
#               [IMPORT_DIRS dir ...]   # -I for rkc (relative: to this folder)
#               [OUT_DIR dir]           # default ${CMAKE_CURRENT_BINARY_DIR}/rk_gen
#               [EMIT c,cuda,manifest]) # default c,cuda
#
# For each NAME.rk it writes NAME.rk.h and NAME.rk.c (emit c), NAME.rk.cu
# (emit cuda) and NAME.rk.yaml (emit manifest) into OUT_DIR; adds the .rk.c
# files to <tgt>'s sources, OUT_DIR to its include directories and links
# ringkernel::rk. A schema that is imported must be listed too: rkc generates
# imported declarations only in their own file. Several targets may list
# one schema with one OUT_DIR (the same EMIT and IMPORT_DIRS): rkc then runs
# once for all of them. The paths written are
# appended to <tgt>'s properties RK_GENERATED_HEADERS, RK_GENERATED_SOURCES,
# RK_GENERATED_CUDA and RK_GENERATED_MANIFESTS. <tgt> must use the keyword
# form of target_link_libraries (PRIVATE/PUBLIC), as this function does.
include_guard(GLOBAL)

# Sets ${out} to the rkc executable target: the imported ringkernel::rkc of
# an installed package, or the in-tree rkc.
function(_rk_generate_find_rkc out)
  if(TARGET ringkernel::rkc)
    set(${out} ringkernel::rkc PARENT_SCOPE)
  elseif(TARGET rkc)
    set(${out} rkc PARENT_SCOPE)
  else()
    message(FATAL_ERROR "rk_generate: no rkc: use find_package(ringkernel) "
                        "or build inside the ringkernel tree")
  endif()
endfunction()

# Sets ${out} to EMIT as a list of checked kinds (c, cuda, manifest) and
# ${out_arg} to rkc's --emit= value.
function(_rk_generate_emit out out_arg)
  set(kinds ${ARGN})
  if(NOT kinds)
    set(kinds c cuda)
  endif()
  string(REPLACE "," ";" kinds "${kinds}")
  list(REMOVE_DUPLICATES kinds)
  foreach(k IN LISTS kinds)
    if(NOT k MATCHES "^(c|cuda|manifest)$")
      message(FATAL_ERROR "rk_generate: EMIT '${k}' is not c, cuda or manifest")
    endif()
  endforeach()
  string(REPLACE ";" "," arg "${kinds}")
  set(${out} ${kinds} PARENT_SCOPE)
  set(${out_arg} ${arg} PARENT_SCOPE)
endfunction()

function(rk_generate)
  cmake_parse_arguments(PARSE_ARGV 0 RKG "" "TARGET;OUT_DIR"
                        "SCHEMAS;IMPORT_DIRS;EMIT")
  if(RKG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "rk_generate: unknown arguments: ${RKG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT RKG_TARGET OR NOT TARGET ${RKG_TARGET})
    message(FATAL_ERROR "rk_generate: TARGET '${RKG_TARGET}' is not a target")
  endif()
  if(NOT RKG_SCHEMAS)
    message(FATAL_ERROR "rk_generate: no SCHEMAS given")
  endif()
  if(NOT RKG_OUT_DIR)
    set(RKG_OUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/rk_gen)
  endif()
  get_filename_component(out_dir "${RKG_OUT_DIR}" ABSOLUTE
                         BASE_DIR ${CMAKE_CURRENT_BINARY_DIR})
  file(MAKE_DIRECTORY ${out_dir})
  _rk_generate_find_rkc(rkc)
  _rk_generate_emit(emit emit_arg ${RKG_EMIT})

  set(include_args)
  foreach(dir IN LISTS RKG_IMPORT_DIRS)
    get_filename_component(dir "${dir}" ABSOLUTE)
    list(APPEND include_args -I ${dir})
  endforeach()

  # A target of its own per call builds every output, .rk.cu and .rk.yaml
  # included, before <tgt>; its name is kept in <tgt>'s property
  # RK_GENERATE_TARGETS for tests that need the outputs.
  string(MAKE_C_IDENTIFIER "${RKG_TARGET}" tid)
  set(gen_target ${tid}_rk_generate)
  set(n 1)
  while(TARGET ${gen_target})
    math(EXPR n "${n} + 1")
    set(gen_target ${tid}_rk_generate_${n})
  endwhile()

  set(names)
  set(call_outputs)
  set(reused)
  foreach(schema IN LISTS RKG_SCHEMAS)
    get_filename_component(schema "${schema}" ABSOLUTE)
    # NAME of NAME.rk: everything before the last extension.
    get_filename_component(name "${schema}" NAME_WLE)
    if(name IN_LIST names)
      message(FATAL_ERROR "rk_generate: two schemas named ${name}.rk for "
                          "${RKG_TARGET}: their outputs would collide")
    endif()
    list(APPEND names ${name})
    set(base ${out_dir}/${name}.rk)
    set(outputs)
    if("c" IN_LIST emit)
      list(APPEND outputs ${base}.h ${base}.c)
      set_property(TARGET ${RKG_TARGET} APPEND PROPERTY RK_GENERATED_HEADERS ${base}.h)
      set_property(TARGET ${RKG_TARGET} APPEND PROPERTY RK_GENERATED_SOURCES ${base}.c)
      target_sources(${RKG_TARGET} PRIVATE ${base}.c)
    endif()
    if("cuda" IN_LIST emit)
      list(APPEND outputs ${base}.cu)
      set_property(TARGET ${RKG_TARGET} APPEND PROPERTY RK_GENERATED_CUDA ${base}.cu)
    endif()
    if("manifest" IN_LIST emit)
      list(APPEND outputs ${base}.yaml)
      set_property(TARGET ${RKG_TARGET} APPEND PROPERTY RK_GENERATED_MANIFESTS ${base}.yaml)
    endif()
    # Targets that share a schema and an OUT_DIR share one command: the
    # first call owns it, later ones wait for its generate target.
    set(command_key "${schema}|${emit_arg}|${include_args}")
    get_property(owner GLOBAL PROPERTY "RK_GENERATE_OWNER:${base}")
    get_property(owner_key GLOBAL PROPERTY "RK_GENERATE_KEY:${base}")
    if(owner)
      if(NOT owner_key STREQUAL command_key)
        message(FATAL_ERROR "rk_generate: ${base}.* is generated twice with "
                            "different schemas, EMIT or IMPORT_DIRS: give "
                            "${RKG_TARGET} its own OUT_DIR")
      endif()
      list(APPEND reused ${owner})
      continue()
    endif()
    set_property(GLOBAL PROPERTY "RK_GENERATE_OWNER:${base}" ${gen_target})
    set_property(GLOBAL PROPERTY "RK_GENERATE_KEY:${base}" "${command_key}")
    list(APPEND call_outputs ${outputs})
    # The depfile names the schema's imports, so editing one reruns rkc.
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND $<TARGET_FILE:${rkc}> -o ${out_dir} ${include_args}
              --emit=${emit_arg} --depfile ${base}.d ${schema}
      DEPENDS ${schema} ${rkc}
      DEPFILE ${base}.d
      COMMENT "rkc ${name}.rk"
      VERBATIM)
  endforeach()

  add_custom_target(${gen_target} DEPENDS ${call_outputs})
  add_dependencies(${RKG_TARGET} ${gen_target})
  if(reused)
    add_dependencies(${gen_target} ${reused})
  endif()
  set_property(TARGET ${RKG_TARGET} APPEND PROPERTY RK_GENERATE_TARGETS ${gen_target})

  target_include_directories(${RKG_TARGET} PUBLIC $<BUILD_INTERFACE:${out_dir}>)
  target_link_libraries(${RKG_TARGET} PUBLIC ringkernel::rk)
endfunction()
