#include "MoveData.h"

#include <fstream>
#include <sstream>

#include "E2e.h"

namespace e2e {

std::vector<std::string> CommandRun::outLines() const {
    std::vector<std::string> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

CommandRun runCommand(const std::string& config, const std::string& option, std::chrono::seconds timeout) {
    TempDir streams;
    const std::string out = streams.file("stdout"), err = streams.file("stderr");
    // The shell only splits the streams; ChildProcess stops it (and so the command) on every path.
    const std::string line =
        "exec '" + hostExecutable() + "' --config='" + config + "' '" + option + "' >'" + out + "' 2>'" + err + "'";
    ChildProcess child("/bin/sh", {"-c", line}, streams.file("shell.log"));
    CommandRun run;
    run.exitCode = child.wait(timeout);
    run.out = readFile(out);
    run.err = readFile(err);
    return run;
}

std::map<int64_t, OrderView> viewOrders(int port, const std::vector<int64_t>& ids) {
    std::map<int64_t, OrderView> views;
    for (int64_t id : ids) {
        const HttpResult order = httpGet(port, "/api/orders/" + std::to_string(id));
        const HttpResult events = httpGet(port, "/api/orders/" + std::to_string(id) + "/events");
        EXPECT_EQ(order.status, 200) << "order " << id << ": " << order.body;
        EXPECT_EQ(events.status, 200) << "order " << id << ": " << events.body;
        views[id] = OrderView{stringField(order.json(), "status"), intField(order.json(), "version"), events.body};
    }
    return views;
}

std::vector<int64_t> listedOrderIds(int port) {
    std::vector<int64_t> ids;
    std::string cursor;
    for (int page = 0; page < 1000; ++page) {
        const HttpResult r =
            httpGet(port, "/api/orders?limit=1000" + (cursor.empty() ? std::string() : "&cursor=" + urlEncode(cursor)));
        EXPECT_EQ(r.status, 200) << r.body;
        if (r.status != 200) break;
        const JsonValue body = r.json();
        const JsonValue* items = body.find("items");
        if (!items || !items->isArray()) break;
        for (const auto& item : items->items()) ids.push_back(intField(item, "id"));
        const JsonValue* next = body.find("nextCursor");
        if (!next || !next->isString()) break;
        cursor = next->asString();
    }
    return ids;
}

int64_t createOrder(int port, const std::string& customer) {
    const HttpResult r = httpPostJson(port, "/api/orders", orderBody(customer));
    return r.status == 201 ? intField(r.json(), "orderId") : -1;
}

std::vector<std::string> fileLines(const std::string& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

}  // namespace e2e
