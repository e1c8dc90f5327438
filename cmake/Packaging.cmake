# Install rules and the Debian package (CPack):
#   cmake --build build --target package   ->  build/pgconn-exporter_VERSION_ARCH.deb
# The package holds the binary, the systemd unit, the configuration under /etc (conffiles),
# and the dashboards, rules, provisioning and examples under /usr/share/pgconn_exporter.

set(PGCONN_SHARE_DIR share/pgconn_exporter)
set(PGCONN_DOC_DIR share/doc/pgconn_exporter)

install(TARGETS pgconn_exporter RUNTIME DESTINATION bin)

# Absolute destinations: the system locations the unit and the binary's default path expect.
install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/pgconn_exporter.toml
        DESTINATION /etc/pgconn_exporter)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/pgconn_exporter.default
        DESTINATION /etc/default RENAME pgconn_exporter)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/pgconn_exporter.service
        DESTINATION /lib/systemd/system)

install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/watch-processes.conf
        DESTINATION ${PGCONN_SHARE_DIR}/systemd)
# The optional TLS and IPv6 front (deploy/tls/README.md): nginx is suggested, not required.
install(FILES ${CMAKE_SOURCE_DIR}/deploy/tls/nginx.conf ${CMAKE_SOURCE_DIR}/deploy/tls/README.md
        ${CMAKE_SOURCE_DIR}/deploy/systemd/pgconn_exporter-tls.service
        DESTINATION ${PGCONN_SHARE_DIR}/tls)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS nginx)
file(GLOB PGCONN_DASHBOARDS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/dashboards/*.json)
install(FILES ${PGCONN_DASHBOARDS} DESTINATION ${PGCONN_SHARE_DIR}/dashboards)
file(GLOB PGCONN_RULES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/deploy/prometheus/pgconn-*.yml)
install(FILES ${PGCONN_RULES} DESTINATION ${PGCONN_SHARE_DIR}/prometheus)
if(EXISTS ${CMAKE_SOURCE_DIR}/deploy/grafana/provisioning)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/deploy/grafana/provisioning
          DESTINATION ${PGCONN_SHARE_DIR}/grafana)
endif()
install(DIRECTORY ${CMAKE_SOURCE_DIR}/deploy/scrape-configs DESTINATION ${PGCONN_SHARE_DIR})
install(FILES ${CMAKE_SOURCE_DIR}/config/web-config.example.yml
        DESTINATION ${PGCONN_SHARE_DIR})

file(GLOB PGCONN_DOCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/config/example.toml ${PGCONN_DOCS}
        DESTINATION ${PGCONN_DOC_DIR})

# Edited by the administrator: dpkg keeps their changes on upgrade.
set(PGCONN_CONFFILES "${CMAKE_BINARY_DIR}/debian/conffiles")
file(WRITE ${PGCONN_CONFFILES}
     "/etc/pgconn_exporter/pgconn_exporter.toml\n/etc/default/pgconn_exporter\n")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pgconn-exporter)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "pgconn_exporter")
set(CPACK_PACKAGE_CONTACT "pgconn_exporter maintainers <pgconn-exporter@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Prometheus exporter for PostgreSQL connection capacity")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends: from the libraries the binary links
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PGCONN_CONFFILES}
    ${CMAKE_SOURCE_DIR}/cmake/debian/postinst
    ${CMAKE_SOURCE_DIR}/cmake/debian/prerm
    ${CMAKE_SOURCE_DIR}/cmake/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Polls pg_stat_activity and the connection limits of PostgreSQL servers over one
persistent session each, and serves how close each server is to running out of
connections as Prometheus metrics. Ships a hardened systemd unit, Grafana dashboards
and Prometheus alert rules.")
include(CPack)
