// Contract: the [http] settings the listener and the request pipeline share (see ConfigSchema).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ApiKeys.h"

namespace ordersystem::host {

struct HttpSettings {
    std::string host = "0.0.0.0";
    int port = 5000;
    int64_t maxBodyBytes = 1048576;
    int threads = 128;
    int maxQueued = 1024;  ///< listen backlog
    /// Open connections at most (lowered at start to fit the open-file limit); beyond it new
    /// connections wait in the listen backlog until one closes.
    int maxConnections = 10000;
    /// Request bodies being read or handled hold at most this much memory together (503 beyond).
    int64_t maxBodyMemoryBytes = 64 * 1024 * 1024;
    int keepAliveTimeoutMs = 5000;
    /// Streaming answers open at once (503 beyond); each also counts as a connection.
    int maxStreams = 1000;
    /// What one stream may hold that its client has not taken yet; past it the client is dropped.
    int64_t maxStreamBufferBytes = 1048576;
    /// Longest a socket read may wait, and the bound for reading one request body.
    int requestTimeoutMs = 30000;
    int64_t maxUriBytes = 8192;      ///< longer request targets get 414
    int64_t maxHeaderBytes = 16384;  ///< larger header blocks (names + values) get 431
    /// Hashes of the accepted API keys; disabled (no keys) means no authentication.
    std::shared_ptr<const ApiKeys> apiKeys;
    /// false: keys are needed on /api/* only; true: on every route (health, metrics, docs too).
    bool apiKeysOnAllRoutes = false;
    std::string tlsCert;  ///< PEM certificate (chain); TLS when set together with tlsKey
    std::string tlsKey;   ///< PEM private key
    /// A TLS handshake must be complete this long after the connection was accepted.
    int tlsHandshakeTimeoutMs = 10000;
};

}  // namespace ordersystem::host
