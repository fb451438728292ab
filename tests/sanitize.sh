#!/usr/bin/env bash
# The tests under sanitizers, each in a build folder of its own:
#   ASan + UBSan: every unit, service and end-to-end test but those that count resources (the
#                 abuse tests' CPU and memory bounds, the VFS's write-syscall count), which
#                 sanitizers change by design;
#   TSan:         the concurrency units: event loop and worker pool (with the conformance table,
#                 plain and TLS, and the limits), group commit, the asynchronous append and
#                 create pipelines, the mediator, the standalone reaction engine, dead-letter
#                 retries and the event stream's hub.
#   tests/sanitize.sh [asan|tsan|all (default)]
# Any report fails the run (halt_on_error); ctest prints its summary line for each.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
common=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DORDERSYSTEM_BUILD_BENCH=OFF)

if [[ $which == all || $which == asan ]]; then
  targets=(sdk_unit_tests sqlite_unit_tests host_unit_tests host_service_unit_tests orders_unit_tests
           analytics_unit_tests notifications_unit_tests transport-inmemory_unit_tests transport_nats_unit_tests
           transport_redis_unit_tests e2e_standalone_tests service_api_tests swagger_ui console)
  cmake -S . -B build-asan "${common[@]}" -DORDERSYSTEM_SANITIZE=address,undefined >/dev/null
  cmake --build build-asan -j2 --target "${targets[@]}"
  # Poco and the brokers' client libraries are not instrumented; leaks at exit in their
  # singletons are not ours to fix, so only errors count.
  ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -L 'unit|service|e2e' -E 'AbuseTest|SlowClients|CostsOneWriteInsteadOfTwo|service_package_test|SwaggerInBrowser' --output-on-failure --timeout 600
fi

if [[ $which == all || $which == tsan ]]; then
  targets=(host_unit_tests host_service_unit_tests transport-inmemory_unit_tests orders_unit_tests sdk_unit_tests
           transport_kit_unit_tests)
  cmake -S . -B build-tsan "${common[@]}" -DORDERSYSTEM_SANITIZE=thread >/dev/null
  cmake --build build-tsan -j2 --target "${targets[@]}"
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir build-tsan -R '^(EventLoopTest|HttpServerTest|Listeners/Conformance|HttpLimitsTest|SecurityTest|InMemoryAppend|InMemoryAsyncAppend|InMemoryProjection|InMemoryReaction|InMemoryDeliveries|DeadLetterRetries|EventHub|AsyncCreate|OrdersReadModel|LoopReads|LoopReadRace|Mediator)\.' \
      --output-on-failure --timeout 600
fi
