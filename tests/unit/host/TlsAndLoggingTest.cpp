// HTTPS with a self-signed certificate made here with openssl, and the log options an operator
// sets in [log]: JSON lines and a rotated file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/StreamCopier.h>

#include "HostTestUtil.h"
#include "ordersystem/sdk/json.h"
#include "ordersystem/testing/RawClient.h"

namespace ordersystem::host {
namespace {

using ordersystem::testing::TempDir;
using ordersystem::testing::writeFile;

#define EXPECT_MENTIONS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

/// GET over HTTPS trusting only cert.pem; status (0 on failure) and body.
int httpsGet(int port, const std::string& caFile, const std::string& path, std::string& body, std::string& error) {
    try {
        Poco::Net::Context::Params params;
        params.caLocation = caFile;
        params.verificationMode = Poco::Net::Context::VERIFY_RELAXED;
        params.loadDefaultCAs = false;
        Poco::Net::Context::Ptr ctx = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
        Poco::Net::HTTPSClientSession session("localhost", static_cast<Poco::UInt16>(port), ctx);
        session.setTimeout(Poco::Timespan(10, 0));
        Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
        session.sendRequest(req);
        Poco::Net::HTTPResponse res;
        std::istream& in = session.receiveResponse(res);
        Poco::StreamCopier::copyToString(in, body);
        return static_cast<int>(res.getStatus());
    } catch (const Poco::Exception& e) {
        error = e.displayText();
        return 0;
    }
}

TEST(Tls, ServesHttpsWithTheConfiguredCertificateAndRefusesPlainHttp) {
    TempDir dir;
    if (!ordersystem::testing::makeSelfSignedCertificate(dir.path()))
        GTEST_SKIP() << "openssl could not make a certificate";
    Poco::Net::initializeSSL();
    writeFile(dir.file("os.ini"), test::fixtureIni("fixture-transport, fixture-routes"));
    Runtime runtime(test::optionsFor(dir.file("os.ini"), {"http.tls_cert=cert.pem", "http.tls_key=key.pem"}));
    const sdk::Status s = runtime.start();
    ASSERT_TRUE(s.isOk()) << s.message;
    std::string body, error;
    EXPECT_EQ(httpsGet(runtime.port(), dir.file("cert.pem"), "/fixture/echo", body, error), 200) << error;
    EXPECT_EQ(runtime.services().node.httpAddress.rfind("https://", 0), 0u) << runtime.services().node.httpAddress;
    EXPECT_NE(ordersystem::testing::httpGet(runtime.port(), "/health/live").status, 200);
    runtime.stop(std::chrono::milliseconds(0));
}

TEST(Tls, MissingKeyOrUnreadableCertificateRefusesTheStartNamingTheKeys) {
    TempDir dir;
    writeFile(dir.file("os.ini"), test::fixtureIni("fixture-transport"));
    Runtime onlyCert(test::optionsFor(dir.file("os.ini"), {"http.tls_cert=cert.pem"}));
    EXPECT_MENTIONS(onlyCert.start().message, "tls_key");
    writeFile(dir.file("cert.pem"), "not a certificate");
    writeFile(dir.file("key.pem"), "not a key");
    Runtime garbage(test::optionsFor(dir.file("os.ini"), {"http.tls_cert=cert.pem", "http.tls_key=key.pem"}));
    const sdk::Status s = garbage.start();
    EXPECT_FALSE(s.isOk());
    EXPECT_MENTIONS(s.message, "tls_cert");
}

std::vector<std::string> lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

TEST(LogOptions, JsonFormatToAFileWritesOneParsableObjectPerLine) {
    TempDir dir;
    writeFile(dir.file("os.ini"), test::fixtureIni("fixture-transport, fixture-routes"));
    {
        Runtime runtime(test::optionsFor(dir.file("os.ini"),
                                         {"log.level=info", "log.format=json", "log.file=logs/ordersystem.log"}));
        ASSERT_TRUE(runtime.start().isOk());
        runtime.stop(std::chrono::milliseconds(0));
    }
    const auto all = lines(dir.file("logs/ordersystem.log"));
    ASSERT_FALSE(all.empty());
    bool sawStart = false;
    for (const auto& l : all) {
        auto parsed = sdk::parseJson(l);
        ASSERT_TRUE(parsed && parsed->isObject()) << l;
        const sdk::JsonValue& v = parsed.value();
        ASSERT_NE(v.find("message"), nullptr) << l;
        EXPECT_NE(v.find("time"), nullptr) << l;
        EXPECT_NE(v.find("level"), nullptr) << l;
        EXPECT_NE(v.find("logger"), nullptr) << l;
        sawStart = sawStart || v.find("message")->asString().find("started: node test-node") != std::string::npos;
    }
    EXPECT_TRUE(sawStart);
}

TEST(LogOptions, JsonLinesEscapeQuotesNewlinesAndControlCharacters) {
    TempDir dir;
    LogSettings settings;
    settings.json = true;
    settings.file = dir.file("j.log");
    auto logging = Logging::open(settings);
    ASSERT_TRUE(logging) << logging.status().message;
    const std::string tricky = "say \"hi\" \\ then\nnext line\tand \x01 done";
    logging.value()->make("plugin-x")->warn("{}", tricky);
    const auto all = lines(dir.file("j.log"));
    ASSERT_EQ(all.size(), 1u);  // the newline in the message did not split the record
    auto parsed = sdk::parseJson(all[0]);
    ASSERT_TRUE(parsed && parsed->isObject()) << all[0];
    EXPECT_EQ(parsed->find("message")->asString(), tricky);
    EXPECT_EQ(parsed->find("logger")->asString(), "plugin-x");
    EXPECT_EQ(parsed->find("level")->asString(), "warning");
}

TEST(LogOptions, FileRotatesAtTheConfiguredSize) {
    TempDir dir;
    writeFile(dir.file("os.ini"), test::fixtureIni("fixture-transport, fixture-routes"));
    {
        Runtime runtime(test::optionsFor(dir.file("os.ini"), {"log.level=debug", "log.file=os.log",
                                                              "log.file_max_bytes=4096", "log.file_max_files=2"}));
        ASSERT_TRUE(runtime.start().isOk());
        for (int i = 0; i < 60; ++i)
            ordersystem::testing::httpGet(runtime.port(), "/fixture/echo?pad=" + std::string(100, 'p'));
        runtime.stop(std::chrono::milliseconds(0));
    }
    EXPECT_FALSE(lines(dir.file("os.1.log")).empty()) << "no rotated file os.1.log";
    std::ifstream current(dir.file("os.log"), std::ios::ate);
    EXPECT_LE(static_cast<long>(current.tellg()), 4096L + 1024L);
}

TEST(LogOptions, UnknownFormatIsRefusedNamingTheKey) {
    TempDir dir;
    writeFile(dir.file("os.ini"), test::fixtureIni("fixture-transport"));
    Runtime runtime(test::optionsFor(dir.file("os.ini"), {"log.format=xml"}));
    EXPECT_MENTIONS(runtime.start().message, "[log] format");
}

}  // namespace
}  // namespace ordersystem::host
