# SPDX-License-Identifier: MIT
# Installs rk.h, librk (static and shared), rkc, the CMake package
# `ringkernel` (targets ringkernel::rk, ::rk_static, ::rk_shared, ::rkc and
# rk_generate()) and ringkernel.pc. Both package files are relocatable: they
# find the prefix from where they lie, so `cmake --install --prefix` works.
include(CMakePackageConfigHelpers)

set(RK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ringkernel)

set_target_properties(rk_static PROPERTIES EXPORT_NAME rk_static)
set_target_properties(rk_shared PROPERTIES EXPORT_NAME rk_shared)
set_target_properties(rkc PROPERTIES EXPORT_NAME rkc)

install(TARGETS rk_static rk_shared rkc EXPORT ringkernelTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/runtime/rk.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT ringkernelTargets NAMESPACE ringkernel::
  FILE ringkernelTargets.cmake DESTINATION ${RK_CMAKE_DIR})

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/ringkernelConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ringkernelConfig.cmake
  INSTALL_DESTINATION ${RK_CMAKE_DIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/ringkernelConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/ringkernelConfig.cmake
  ${PROJECT_BINARY_DIR}/ringkernelConfigVersion.cmake
  ${CMAKE_CURRENT_LIST_DIR}/RingkernelGenerate.cmake
  DESTINATION ${RK_CMAKE_DIR})

# ringkernel.pc: prefix is found from the .pc file's own folder (an absolute
# CMAKE_INSTALL_LIBDIR or INCLUDEDIR pins it to the configured prefix).
set(RK_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(RK_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH rel ${CMAKE_INSTALL_PREFIX}/${RK_PC_DIR} ${CMAKE_INSTALL_PREFIX})
  string(REGEX REPLACE "/$" "" rel "${rel}")
  set(RK_PC_PREFIX "\${pcfiledir}/${rel}")
endif()
set(RK_PC_DL "")
foreach(lib IN LISTS CMAKE_DL_LIBS)
  string(APPEND RK_PC_DL " -l${lib}")
endforeach()
configure_file(${CMAKE_CURRENT_LIST_DIR}/ringkernel.pc.in
  ${PROJECT_BINARY_DIR}/ringkernel.pc @ONLY)
configure_file(${CMAKE_CURRENT_LIST_DIR}/ringkernel-static.pc.in
  ${PROJECT_BINARY_DIR}/ringkernel-static.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ringkernel.pc
  ${PROJECT_BINARY_DIR}/ringkernel-static.pc DESTINATION ${RK_PC_DIR})
