# Install-time part of packaging/CMakeLists.txt: the config and the unit,
# whose paths depend on the prefix the install runs with. Set before this
# runs: DORADO_UNIT_TEMPLATE, DORADO_EXAMPLE_CONFIG, DORADO_SBINDIR_REL,
# DORADO_WORK_DIR. file(INSTALL) adds $ENV{DESTDIR} itself.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(DORADO_SYSCONFDIR /etc)          # as GNUInstallDirs does for /usr
else()
  set(DORADO_SYSCONFDIR "${CMAKE_INSTALL_PREFIX}/etc")
endif()
if(IS_ABSOLUTE "${DORADO_SBINDIR_REL}")
  set(DORADO_SBINDIR "${DORADO_SBINDIR_REL}")
else()
  set(DORADO_SBINDIR "${CMAKE_INSTALL_PREFIX}/${DORADO_SBINDIR_REL}")
endif()

# dorado.service with this prefix's paths.
string(MD5 prefix_hash "${CMAKE_INSTALL_PREFIX}")
set(unit "${DORADO_WORK_DIR}/unit-${prefix_hash}/dorado.service")
configure_file("${DORADO_UNIT_TEMPLATE}" "${unit}" @ONLY)
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE FILES "${unit}")

# The example config as the config, unless one is there already (an
# operator's own is never overwritten; dpkg handles its conffile itself).
set(conf "$ENV{DESTDIR}${DORADO_SYSCONFDIR}/dorado/dorado.toml")
if(EXISTS "${conf}")
  message(STATUS "Kept: ${conf} (exists; the example is in share/doc/dorado/examples)")
else()
  file(INSTALL DESTINATION "${DORADO_SYSCONFDIR}/dorado" TYPE FILE
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
       RENAME dorado.toml FILES "${DORADO_EXAMPLE_CONFIG}")
endif()
