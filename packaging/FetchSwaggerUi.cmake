# cmake -P script: npm pack swagger-ui-dist@VERSION (from the npm registry or npm's cache),
# unpack it and copy the files Swagger UI needs next to our own index and initializer.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
execute_process(COMMAND "${NPM}" pack "swagger-ui-dist@${VERSION}" --silent
  WORKING_DIRECTORY "${WORK}" RESULT_VARIABLE rc OUTPUT_VARIABLE tarball ERROR_VARIABLE err
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "npm pack swagger-ui-dist@${VERSION} failed: ${err}")
endif()
file(ARCHIVE_EXTRACT INPUT "${WORK}/${tarball}" DESTINATION "${WORK}")
file(MAKE_DIRECTORY "${DEST}")
foreach(f swagger-ui-bundle.js swagger-ui.css favicon-32x32.png favicon-16x16.png LICENSE)
  if(EXISTS "${WORK}/package/${f}")
    file(COPY "${WORK}/package/${f}" DESTINATION "${DEST}")
  endif()
endforeach()
if(NOT EXISTS "${DEST}/swagger-ui-bundle.js")
  message(FATAL_ERROR "swagger-ui-dist@${VERSION} has no swagger-ui-bundle.js")
endif()
file(COPY "${SOURCE}/swagger-initializer.js" DESTINATION "${DEST}")
configure_file("${SOURCE}/swagger-index.html" "${DEST}/index.html" COPYONLY)
