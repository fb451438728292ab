# The Debian package: cpack -G DEB (run in the build folder) -> ordersystem_<version>_amd64.deb.
# CPack marks no conffiles and writes no systemd glue by itself, so deb/ holds both.
# (host/ installs the executable, ordersystem_add_plugin every plugin, CMakeLists.txt here the docs.)
install(FILES deb/ordersystem.ini DESTINATION /etc/ordersystem COMPONENT runtime)
install(FILES "${CMAKE_SOURCE_DIR}/etc/ordersystem.service" DESTINATION /lib/systemd/system COMPONENT runtime)
install(FILES "${CMAKE_SOURCE_DIR}/README.md" deb/copyright DESTINATION share/doc/ordersystem COMPONENT runtime)
# Ready-to-copy configurations for the other modes (paths of the installed layout).
install(FILES deb/example-redis.ini DESTINATION share/doc/ordersystem/examples RENAME redis.ini COMPONENT runtime)
install(FILES deb/example-nats.ini DESTINATION share/doc/ordersystem/examples RENAME nats.ini COMPONENT runtime)

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
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "redis-server, nats-server")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://ordersystem.invalid/")
set(CPACK_PACKAGE_DESCRIPTION "Order management REST service with CQRS and event sourcing.
Runs standalone (SQLite event log), distributed over Redis, or as a cluster over NATS
JetStream. Configured by /etc/ordersystem/ordersystem.ini, run by systemd as the
ordersystem user; web console at /, OpenAPI document and Swagger UI at /swagger, Prometheus metrics at /metrics.")
set(CPACK_DEBIAN_COMPRESSION_TYPE "gzip")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${CMAKE_CURRENT_SOURCE_DIR}/deb/conffiles;${CMAKE_CURRENT_SOURCE_DIR}/deb/postinst;${CMAKE_CURRENT_SOURCE_DIR}/deb/prerm;${CMAKE_CURRENT_SOURCE_DIR}/deb/postrm")
include(CPack)
