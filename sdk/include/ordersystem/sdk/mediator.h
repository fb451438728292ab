// Contract: the in-process mediator for commands and queries (CQRS), header-only.
// - A message type M declares `using Result = R;` and `static constexpr const char* kName`.
//   and `static constexpr bool kIsCommand` (true for commands, false for queries).
// - Register one handler per message type with handle<M>() during start-up (not thread-safe);
//   after that send() is thread-safe and lock-free.
// - Every send() runs one pipeline: each Behavior's before(), the handler, each after() in
//   reverse. The pipeline is where logging, metrics and error mapping live, once for all
//   messages. A handler that throws becomes Status Internal; send() never throws.
// - Asynchronous handlers (handleAsync<M>) get a completion to call exactly once, from any
//   thread; sendAsync() runs the same pipeline: before() now, after() when the handler completes
//   (elapsedNs then spans the whole asynchronous operation), then the caller's callback. A
//   handler that throws before completing completes with Internal. send() of a message that
//   only has an asynchronous handler waits for it; sendAsync() of one with a plain handler
//   completes on the caller's thread.
// Kept cheap: bench/mediator_bench.cpp measures a send.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ordersystem/sdk/status.h"

namespace ordersystem::sdk {

/// Facts about the message going through the pipeline.
struct MessageInfo {
    const char* name;
    bool isCommand;
    size_t index;  ///< dense per-process index of the message type (for per-type arrays)
};

/// One step of the pipeline. Implementations must be thread-safe and must not throw.
class Behavior {
public:
    virtual ~Behavior() = default;
    virtual void before(const MessageInfo& info) noexcept = 0;
    /// elapsedNs: wall time of the handler alone.
    virtual void after(const MessageInfo& info, const Status& outcome, int64_t elapsedNs) noexcept = 0;
};

namespace detail {
inline size_t nextMessageIndex() noexcept {
    static std::atomic<size_t> counter{0};
    return counter.fetch_add(1, std::memory_order_relaxed);
}
template <class M>
size_t messageIndex() noexcept {
    static const size_t index = nextMessageIndex();
    return index;
}
}  // namespace detail

class Mediator {
public:
    /// Registers the handler for M: a callable `Result<typename M::Result>(const M&)`.
    template <class M, class F>
    void handle(F&& handler) {
        const size_t index = detail::messageIndex<M>();
        if (_handlers.size() <= index) _handlers.resize(index + 1);
        _handlers[index] = std::make_unique<HandlerImpl<M, std::decay_t<F>>>(std::forward<F>(handler));
    }

    template <class M>
    using Completion = std::function<void(Result<typename M::Result>&&)>;

    /// Registers the asynchronous handler for M: a callable `void(const M&, Completion<M>)`.
    template <class M, class F>
    void handleAsync(F&& handler) {
        const size_t index = detail::messageIndex<M>();
        if (_asyncHandlers.size() <= index) _asyncHandlers.resize(index + 1);
        _asyncHandlers[index] = std::make_unique<AsyncHandlerImpl<M, std::decay_t<F>>>(std::forward<F>(handler));
    }

    /// Appends a behavior; behaviors run in registration order (after() in reverse).
    void addBehavior(std::shared_ptr<Behavior> behavior) { _behaviors.push_back(std::move(behavior)); }

    template <class M>
    Result<typename M::Result> send(const M& message) const noexcept {
        using R = Result<typename M::Result>;
        const size_t index = detail::messageIndex<M>();
        const MessageInfo info{M::kName, M::kIsCommand, index};
        if (index >= _handlers.size() || !_handlers[index]) {
            if (index < _asyncHandlers.size() && _asyncHandlers[index]) return waitFor(message);
            return R(StatusCode::Internal, std::string("no handler for ") + M::kName);
        }
        auto* handler = static_cast<const HandlerFor<M>*>(_handlers[index].get());
        for (const auto& b : _behaviors) b->before(info);
        const auto start = std::chrono::steady_clock::now();
        R result = invoke(*handler, message);
        const auto elapsed = std::chrono::steady_clock::now() - start;
        const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
        for (auto it = _behaviors.rbegin(); it != _behaviors.rend(); ++it) (*it)->after(info, result.status(), ns);
        return result;
    }

    /// Runs message through the pipeline and its asynchronous handler; done gets the result.
    template <class M>
    void sendAsync(const M& message, Completion<M> done) const noexcept {
        using R = Result<typename M::Result>;
        const size_t index = detail::messageIndex<M>();
        if (index >= _asyncHandlers.size() || !_asyncHandlers[index]) {
            done(send(message));
            return;
        }
        auto* handler = static_cast<const AsyncHandlerFor<M>*>(_asyncHandlers[index].get());
        const MessageInfo info{M::kName, M::kIsCommand, index};
        for (const auto& b : _behaviors) b->before(info);
        const auto start = std::chrono::steady_clock::now();
        auto finish = [this, info, start, done = std::move(done)](R&& result) {
            const auto elapsed = std::chrono::steady_clock::now() - start;
            const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
            for (auto it = _behaviors.rbegin(); it != _behaviors.rend(); ++it) (*it)->after(info, result.status(), ns);
            done(std::move(result));
        };
        // Shared so a handler that throws after taking the completion cannot complete twice.
        auto state = std::make_shared<std::pair<std::atomic<bool>, decltype(finish)>>(false, std::move(finish));
        Completion<M> once = [state](R&& result) {
            if (!state->first.exchange(true)) state->second(std::move(result));
        };
        try {
            handler->call(message, std::move(once));
        } catch (const std::exception& e) {
            if (!state->first.exchange(true)) state->second(R(StatusCode::Internal, e.what()));
        } catch (...) {
            if (!state->first.exchange(true)) state->second(R(StatusCode::Internal, "unknown exception in handler"));
        }
    }

private:
    template <class M>
    Result<typename M::Result> waitFor(const M& message) const noexcept {
        using R = Result<typename M::Result>;
        auto promise = std::make_shared<std::promise<R>>();
        std::future<R> future = promise->get_future();
        sendAsync(message, [promise](R&& result) { promise->set_value(std::move(result)); });
        return future.get();
    }

    struct HandlerBase {
        virtual ~HandlerBase() = default;
    };
    template <class M>
    struct HandlerFor : HandlerBase {
        virtual Result<typename M::Result> call(const M& m) const = 0;
    };
    template <class M, class F>
    struct HandlerImpl final : HandlerFor<M> {
        explicit HandlerImpl(F f) : _f(std::move(f)) {}
        Result<typename M::Result> call(const M& m) const override { return _f(m); }
        F _f;
    };
    template <class M>
    struct AsyncHandlerFor : HandlerBase {
        virtual void call(const M& m, Completion<M> done) const = 0;
    };
    template <class M, class F>
    struct AsyncHandlerImpl final : AsyncHandlerFor<M> {
        explicit AsyncHandlerImpl(F f) : _f(std::move(f)) {}
        void call(const M& m, Completion<M> done) const override { _f(m, std::move(done)); }
        F _f;
    };

    template <class M>
    static Result<typename M::Result> invoke(const HandlerFor<M>& handler, const M& message) noexcept {
        try {
            return handler.call(message);
        } catch (const std::exception& e) {
            return Result<typename M::Result>(StatusCode::Internal, e.what());
        } catch (...) {
            return Result<typename M::Result>(StatusCode::Internal, "unknown exception in handler");
        }
    }

    std::vector<std::unique_ptr<HandlerBase>> _handlers;
    std::vector<std::unique_ptr<HandlerBase>> _asyncHandlers;
    std::vector<std::shared_ptr<Behavior>> _behaviors;
};

}  // namespace ordersystem::sdk
