# cmake -P script: build the web console (console/ in the source tree) into DEST with Vite.
# Works on a copy in WORK so the source tree never holds node_modules; `npm ci` installs exactly
# the committed package-lock.json (from npm's cache when it has the packages) and is skipped while
# the lockfile is unchanged.
foreach(f package.json package-lock.json index.html vite.config.js)
  configure_file("${SOURCE}/${f}" "${WORK}/${f}" COPYONLY)
endforeach()
foreach(d src public)
  file(REMOVE_RECURSE "${WORK}/${d}")
  file(COPY "${SOURCE}/${d}" DESTINATION "${WORK}")
endforeach()

set(_installed "${WORK}/node_modules/.ordersystem-lock")
set(_same FALSE)
if(EXISTS "${_installed}")
  file(SHA256 "${_installed}" _a)
  file(SHA256 "${SOURCE}/package-lock.json" _b)
  if(_a STREQUAL _b)
    set(_same TRUE)
  endif()
endif()
if(NOT _same)
  execute_process(COMMAND "${CMAKE_COMMAND}" -E env PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
      "${NPM}" ci --prefer-offline --no-audit --no-fund --ignore-scripts --loglevel=error
    WORKING_DIRECTORY "${WORK}" RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "npm ci for the web console failed (needs the npm registry or npm's cache): ${err}")
  endif()
  configure_file("${SOURCE}/package-lock.json" "${_installed}" COPYONLY)
endif()

execute_process(COMMAND "${NODE}" node_modules/vite/bin/vite.js build --logLevel warn --outDir "${DEST}" --emptyOutDir
  WORKING_DIRECTORY "${WORK}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT EXISTS "${DEST}/index.html")
  message(FATAL_ERROR "vite build of the web console failed")
endif()
