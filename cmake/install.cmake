# What `cmake --install` lays out besides the binary (src/) and the merge backends
# (src/profile/llvm/): kpgo's data, a man page, bash completion and the licence texts.

install(DIRECTORY ${PROJECT_SOURCE_DIR}/kernel ${PROJECT_SOURCE_DIR}/configs ${PROJECT_SOURCE_DIR}/guest
        DESTINATION ${KPGO_DATA_INSTALL_DIR})

# Debian compresses man pages; -n keeps the archive free of a time stamp, so builds repeat.
set(kpgo_man_gz ${PROJECT_BINARY_DIR}/kpgo.1.gz)
add_custom_command(OUTPUT ${kpgo_man_gz}
                   COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/docs/man/kpgo.1 > ${kpgo_man_gz}
                   DEPENDS ${PROJECT_SOURCE_DIR}/docs/man/kpgo.1
                   COMMENT "Compressing the man page")
add_custom_target(kpgo_man ALL DEPENDS ${kpgo_man_gz})
install(FILES ${kpgo_man_gz} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

install(FILES ${PROJECT_SOURCE_DIR}/scripts/completion/kpgo.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME kpgo)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright)
