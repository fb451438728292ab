// One POST per call with Poco::Net; https through Poco NetSSL when the build has it.
#include "WebhookClient.h"

#include "RetryAfter.h"
#include "ordersystem/sdk/util.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <istream>
#include <memory>
#include <ostream>

#ifdef ORDERSYSTEM_NOTIFICATIONS_HTTPS
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#endif

namespace ordersystem::plugins::notifications {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {

constexpr const char* kKey = "notifications.webhook_url";
/// Enough of an error body to explain a refusal in the log, without logging a whole page.
constexpr std::streamsize kMaxLoggedBody = 200;

Status badUrl(std::string_view url, const std::string& why) {
    return Status(StatusCode::InvalidConfig,
                  std::string(kKey) + " = \"" + std::string(url) + "\" is not a usable webhook URL: " + why);
}

std::string lowerCase(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

/// Reads the answer's body (bounded) so the connection ends cleanly and the log can quote it.
std::string readSomeBody(std::istream& in) {
    std::string text;
    char buf[512];
    std::streamsize total = 0;
    while (in && total < 64 * 1024) {
        in.read(buf, sizeof buf);
        const std::streamsize got = in.gcount();
        if (got <= 0) break;
        if (static_cast<std::streamsize>(text.size()) < kMaxLoggedBody)
            text.append(buf,
                        static_cast<size_t>(std::min(got, kMaxLoggedBody - static_cast<std::streamsize>(text.size()))));
        total += got;
    }
    for (char& c : text)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    return text;
}

#ifdef ORDERSYSTEM_NOTIFICATIONS_HTTPS
/// One client TLS context for the process: system CAs, peer and host name verified.
Poco::Net::Context::Ptr tlsContext() {
    static Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", Poco::Net::Context::VERIFY_RELAXED, 9, true);
    return context;
}
#endif

std::unique_ptr<Poco::Net::HTTPClientSession> openSession(const WebhookTarget& t) {
#ifdef ORDERSYSTEM_NOTIFICATIONS_HTTPS
    if (t.scheme == "https") return std::make_unique<Poco::Net::HTTPSClientSession>(t.host, t.port, tlsContext());
#endif
    return std::make_unique<Poco::Net::HTTPClientSession>(t.host, t.port);
}

}  // namespace

bool httpsSupported() noexcept {
#ifdef ORDERSYSTEM_NOTIFICATIONS_HTTPS
    return true;
#else
    return false;
#endif
}

Result<WebhookTarget> parseWebhookUrl(std::string_view url) {
    Poco::URI uri;
    try {
        uri = Poco::URI(std::string(url));
    } catch (const Poco::Exception& e) {
        return badUrl(url, e.displayText());
    }
    WebhookTarget t;
    t.scheme = lowerCase(uri.getScheme());
    if (t.scheme != "http" && t.scheme != "https") return badUrl(url, "the scheme must be http or https");
    if (t.scheme == "https" && !httpsSupported()) return badUrl(url, "https is not supported by this build, use http");
    t.host = uri.getHost();
    if (t.host.empty()) return badUrl(url, "it has no host");
    if (!uri.getUserInfo().empty()) return badUrl(url, "user info in the URL is not supported");
    if (!uri.getFragment().empty()) return badUrl(url, "a fragment (#...) makes no sense in a webhook URL");
    t.port = uri.getPort();
    if (t.port == 0) return badUrl(url, "the port must be 1-65535");
    t.pathAndQuery = uri.getPathAndQuery();
    if (t.pathAndQuery.empty() || t.pathAndQuery.front() != '/') t.pathAndQuery.insert(0, "/");
    t.display =
        t.scheme + "://" + t.host + ":" + std::to_string(t.port) + (uri.getPath().empty() ? "/" : uri.getPath());
    return t;
}

WebhookClient::WebhookClient(WebhookTarget target, int64_t timeoutMs)
    : _target(std::move(target)), _timeoutMs(timeoutMs) {
#ifdef ORDERSYSTEM_NOTIFICATIONS_HTTPS
    if (_target.scheme == "https") Poco::Net::initializeSSL();
#endif
}

WebhookClient::~WebhookClient() {
#ifdef ORDERSYSTEM_NOTIFICATIONS_HTTPS
    if (_target.scheme == "https") Poco::Net::uninitializeSSL();
#endif
}

DeliveryOutcome WebhookClient::post(const std::string& body, const std::string& idempotencyKey, const char* contentType,
                                    const WebhookHeaders& extra) const noexcept {
    DeliveryOutcome out;
    try {
        auto session = openSession(_target);
        session->setTimeout(Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(_timeoutMs) * 1000));
        session->setKeepAlive(false);
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, _target.pathAndQuery,
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        request.setContentType(contentType);
        request.setContentLength(static_cast<std::streamsize>(body.size()));
        request.set("Idempotency-Key", idempotencyKey);
        request.set("User-Agent", "ordersystem-notifications");
        for (const auto& [name, value] : extra) request.set(name, value);
        std::ostream& os = session->sendRequest(request);
        os.write(body.data(), static_cast<std::streamsize>(body.size()));
        Poco::Net::HTTPResponse response;
        std::istream& is = session->receiveResponse(response);
        const std::string answer = readSomeBody(is);
        out.httpStatus = static_cast<int>(response.getStatus());
        out.delivered = out.httpStatus >= 200 && out.httpStatus < 300;
        if (!out.delivered) {
            out.error = "HTTP " + std::to_string(out.httpStatus) + " " + response.getReason();
            if (!answer.empty()) out.error += ": " + answer;
            if ((out.httpStatus == 429 || out.httpStatus == 503) && response.has("Retry-After"))
                out.retryAfterMs = parseRetryAfterMs(response.get("Retry-After"), sdk::nowMs());
        }
    } catch (const Poco::TimeoutException& e) {
        out.timedOut = true;
        out.error = "no answer within " + std::to_string(_timeoutMs) + " ms (" + e.displayText() + ")";
    } catch (const Poco::Exception& e) {
        out.error = e.displayText();
    } catch (const std::exception& e) {
        out.error = e.what();
    } catch (...) {
        out.error = "unknown error";
    }
    return out;
}

}  // namespace ordersystem::plugins::notifications
