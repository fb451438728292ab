# The Debian package: cpack -G DEB (run in the build folder) -> ordersystem_<version>_amd64.deb.
# CPack marks no conffiles and writes no systemd glue by itself, so deb/ holds both.
if(TARGET ordersystem)
  install(TARGETS ordersystem RUNTIME DESTINATION bin COMPONENT runtime)
endif()
install(FILES deb/ordersystem.ini DESTINATION /etc/ordersystem COMPONENT runtime)
install(FILES "${CMAKE_SOURCE_DIR}/etc/ordersystem.service" DESTINATION /lib/systemd/system COMPONENT runtime)
install(FILES "${CMAKE_SOURCE_DIR}/README.md" DESTINATION share/doc/ordersystem COMPONENT runtime)
install(FILES "${CMAKE_SOURCE_DIR}/etc/redis/node-1.ini" DESTINATION share/doc/ordersystem/examples
        RENAME redis-node-1.ini COMPONENT runtime)
install(FILES "${CMAKE_SOURCE_DIR}/etc/redis/node-2.ini" DESTINATION share/doc/ordersystem/examples
        RENAME redis-node-2.ini COMPONENT runtime)
foreach(n 1 2 3)
  install(FILES "${CMAKE_SOURCE_DIR}/etc/cluster/node-${n}.ini" DESTINATION share/doc/ordersystem/examples
          RENAME nats-node-${n}.ini COMPONENT runtime)
endforeach()

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "ordersystem")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "ordersystem")
set(CPACK_PACKAGE_CONTACT "ordersystem maintainers <maintainers@ordersystem.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Order management service (CQRS, event sourcing; SQLite, Redis or NATS)")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${CMAKE_CURRENT_SOURCE_DIR}/deb/conffiles;${CMAKE_CURRENT_SOURCE_DIR}/deb/postinst;${CMAKE_CURRENT_SOURCE_DIR}/deb/prerm;${CMAKE_CURRENT_SOURCE_DIR}/deb/postrm")
include(CPack)
