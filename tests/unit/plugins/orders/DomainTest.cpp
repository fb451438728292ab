// The order domain without the host: money, the state machine, events and validation rules.
#include <gtest/gtest.h>

#include "domain/Money.h"
#include "domain/Order.h"
#include "domain/Validation.h"
#include "ordersystem/sdk/json.h"

namespace ordersystem::plugins::orders::domain {
namespace {

TEST(OrderMoney, PricesAreReadExactlyInCents) {
    EXPECT_EQ(parseCents("15.99"), 1599);
    EXPECT_EQ(parseCents("0"), 0);
    EXPECT_EQ(parseCents("0.5"), 50);
    EXPECT_EQ(parseCents("999.99"), 99999);
    EXPECT_EQ(parseCents("1000000000"), 100000000000LL);
    EXPECT_EQ(parseCents("1000000000.00"), 100000000000LL);
}

TEST(OrderMoney, RejectsExponentsMoreDecimalsSignsAndTooLarge) {
    for (const char* bad :
         {"1e3", "1E2", "1.999", "1.001", "-1", "-0.01", "1000000000.01", "99999999999", "01", "1.", ".5", "", "1.2e1"})
        EXPECT_FALSE(parseCents(bad).has_value()) << bad;
}

TEST(OrderMoney, TotalsAreExactSums) {
    NewOrder a{"x", {{"p", 3, 1599}}};
    EXPECT_EQ(a.totalCents(), 4797);
    NewOrder b{"x", {{"Laptop", 1, 99999}, {"Mouse", 2, 2999}}};
    EXPECT_EQ(b.totalCents(), 105997);
}

TEST(OrderNumber, HasUtcTimestampAndIdPaddedToFourDigits) {
    // 2025-10-11T19:21:45Z
    EXPECT_EQ(makeOrderNumber(1760210505123, 1), "ORD-20251011192145-0001");
    EXPECT_EQ(makeOrderNumber(1760210505123, 123456), "ORD-20251011192145-123456");
    EXPECT_EQ(makeOrderNumber(951868799999LL, 9999), "ORD-20000229235959-9999");
    EXPECT_EQ(makeOrderNumber(0, (int64_t{1} << 53) - 1), "ORD-19700101000000-9007199254740991");
}

Order createdOrder() {
    NewOrder n{"John Doe", {{"Laptop", 1, 99999}}};
    Order o;
    EXPECT_TRUE(applyEvent(o, makeCreated(n, 7, "ORD-1", {"node-a", 1000, ""})).isOk());
    return o;
}

Order withStatus(OrderStatus s) {
    Order o = createdOrder();
    const EventContext ctx{"node-a", 2000, ""};
    if (s == OrderStatus::Processing || s == OrderStatus::Completed) {
        EXPECT_TRUE(applyEvent(o, *decideProcess(o, ctx)).isOk());
    }
    if (s == OrderStatus::Completed) {
        EXPECT_TRUE(applyEvent(o, *decideComplete(o, ctx)).isOk());
    }
    if (s == OrderStatus::Cancelled) {
        EXPECT_TRUE(applyEvent(o, *decideCancel(o, "changed mind", ctx)).isOk());
    }
    EXPECT_EQ(o.status, s);
    return o;
}

TEST(OrderStateMachine, CreatedOrderIsPendingVersionOneWithExactTotal) {
    Order o = createdOrder();
    EXPECT_EQ(o.status, OrderStatus::Pending);
    EXPECT_EQ(o.version, 1);
    EXPECT_EQ(o.totalCents, 99999);
    EXPECT_EQ(o.id, 7);
    EXPECT_EQ(o.createdAtMs, 1000);
}

TEST(OrderStateMachine, EventsCarryNextVersionNodeAndFreshIds) {
    Order o = createdOrder();
    auto e1 = decideProcess(o, {"node-b", 5, ""});
    auto e2 = decideProcess(o, {"node-b", 5, ""});
    ASSERT_TRUE(e1.isOk());
    EXPECT_EQ(e1->version, 2);
    EXPECT_EQ(e1->nodeId, "node-b");
    EXPECT_EQ(e1->type, "OrderProcessing");
    EXPECT_NE(e1->eventId, e2->eventId);
}

struct Case {
    OrderStatus from;
    int command;           // 0 process, 1 complete, 2 cancel
    const char* conflict;  // nullptr: allowed
};

TEST(OrderStateMachine, EveryTransitionFromEveryStatusIsAllowedOrRefusedWithTheFamiliarText) {
    const Case cases[] = {
        {OrderStatus::Pending, 0, nullptr},
        {OrderStatus::Pending, 1, "Order must be in Processing status, current: Pending"},
        {OrderStatus::Pending, 2, nullptr},
        {OrderStatus::Processing, 0, "Order is already Processing"},
        {OrderStatus::Processing, 1, nullptr},
        {OrderStatus::Processing, 2, nullptr},
        {OrderStatus::Completed, 0, "Order must be in Pending status, current: Completed"},
        {OrderStatus::Completed, 1, "Order must be in Processing status, current: Completed"},
        {OrderStatus::Completed, 2, "Cannot cancel completed order"},
        {OrderStatus::Cancelled, 0, "Order must be in Pending status, current: Cancelled"},
        {OrderStatus::Cancelled, 1, "Order must be in Processing status, current: Cancelled"},
        {OrderStatus::Cancelled, 2, "Order is already cancelled"},
    };
    for (const auto& c : cases) {
        const Order o = withStatus(c.from);
        const EventContext ctx{"n", 9, ""};
        auto r = c.command == 0   ? decideProcess(o, ctx)
                 : c.command == 1 ? decideComplete(o, ctx)
                                  : decideCancel(o, "r", ctx);
        if (c.conflict) {
            ASSERT_FALSE(r.isOk());
            EXPECT_EQ(r.status().code, sdk::StatusCode::Conflict);
            EXPECT_EQ(r.status().message, c.conflict);
        } else {
            EXPECT_TRUE(r.isOk()) << statusName(c.from) << " command " << c.command << ": " << r.status().message;
        }
    }
}

TEST(OrderStateMachine, OutOfSequenceEventIsRefusedAndChangesNothing) {
    Order o = createdOrder();
    auto e = *decideProcess(o, {"n", 1, ""});
    e.version = 5;
    EXPECT_FALSE(applyEvent(o, e).isOk());
    EXPECT_EQ(o.status, OrderStatus::Pending);
    EXPECT_EQ(o.version, 1);
}

TEST(OrderStateMachine, ReplayRebuildsCancelledOrderWithReasonAndTimestamps) {
    Order o = createdOrder();
    std::vector<sdk::EventRecord> history;
    NewOrder n{"John Doe", {{"Laptop", 1, 99999}}};
    history.push_back(makeCreated(n, 7, "ORD-1", {"a", 1000, ""}));
    Order step;
    ASSERT_TRUE(applyEvent(step, history.back()).isOk());
    history.push_back(*decideProcess(step, {"a", 2000, ""}));
    ASSERT_TRUE(applyEvent(step, history.back()).isOk());
    history.push_back(*decideCancel(step, "out of stock", {"a", 3000, ""}));
    auto r = replay(history);
    ASSERT_TRUE(r.isOk());
    EXPECT_EQ(r->status, OrderStatus::Cancelled);
    EXPECT_EQ(r->version, 3);
    EXPECT_EQ(r->processedAtMs, 2000);
    EXPECT_EQ(r->cancelledAtMs, 3000);
    EXPECT_EQ(r->cancelReason, "out of stock");
    EXPECT_EQ(replay({}).status().code, sdk::StatusCode::NotFound);
}

TEST(OrderDocument, HasEveryContractFieldWithNullsForUnsetTimes) {
    Order o = createdOrder();
    std::string out;
    sdk::JsonWriter w(out);
    writeOrderDocument(w, o);
    EXPECT_EQ(out, R"({"id":7,"orderNumber":"ORD-1","customerName":"John Doe","totalAmount":999.99,"status":"Pending",)"
                   R"("version":1,"items":[{"productName":"Laptop","quantity":1,"price":999.99}],)"
                   R"("createdAt":"1970-01-01T00:00:01.000Z","processedAt":null,"completedAt":null,"cancelledAt":null,)"
                   R"("cancelReason":null})");
}

std::vector<sdk::FieldError> errorsFor(const std::string& body) {
    auto doc = sdk::parseJson(body);
    EXPECT_TRUE(doc.isOk()) << body;
    NewOrder n;
    std::vector<sdk::FieldError> errors;
    EXPECT_FALSE(validateNewOrder(*doc, &n, &errors)) << body;
    return errors;
}

bool names(const std::vector<sdk::FieldError>& errors, const std::string& field) {
    for (const auto& e : errors)
        if (e.field == field) return true;
    return false;
}

TEST(OrderValidation, NamesTheOffendingFieldForEveryRule) {
    const std::string item = R"({"productName":"A","quantity":1,"price":1})";
    const std::string longName(201, 'x');
    const struct {
        std::string body;
        std::string field;
    } cases[] = {
        {R"({"items":[)" + item + "]}", "customerName"},
        {R"({"customerName":null,"items":[)" + item + "]}", "customerName"},
        {R"({"customerName":"","items":[)" + item + "]}", "customerName"},
        {R"({"customerName":"   ","items":[)" + item + "]}", "customerName"},
        {R"({"customerName":")" + longName + R"(","items":[)" + item + "]}", "customerName"},
        {R"({"customerName":42,"items":[)" + item + "]}", "customerName"},
        {R"({"customerName":"A"})", "items"},
        {R"({"customerName":"A","items":[]})", "items"},
        {R"({"customerName":"A","items":{}})", "items"},
        {R"({"customerName":"A","items":[1]})", "items[0]"},
        {R"({"customerName":"A","items":[{"quantity":1,"price":1}]})", "items[0].productName"},
        {R"({"customerName":"A","items":[{"productName":" ","quantity":1,"price":1}]})", "items[0].productName"},
        {R"({"customerName":"A","items":[{"productName":")" + longName + R"(","quantity":1,"price":1}]})",
         "items[0].productName"},
        {R"({"customerName":"A","items":[{"productName":"A","price":1}]})", "items[0].quantity"},
        {R"({"customerName":"A","items":[{"productName":"A","quantity":0,"price":1}]})", "items[0].quantity"},
        {R"({"customerName":"A","items":[{"productName":"A","quantity":10001,"price":1}]})", "items[0].quantity"},
        {R"({"customerName":"A","items":[{"productName":"A","quantity":1.5,"price":1}]})", "items[0].quantity"},
        {R"({"customerName":"A","items":[{"productName":"A","quantity":"1","price":1}]})", "items[0].quantity"},
        {R"({"customerName":"A","items":[{"productName":"A","quantity":1}]})", "items[0].price"},
        {R"({"customerName":"A","items":[{"productName":"A","quantity":1,"price":null}]})", "items[0].price"},
        {R"({"customerName":"A","items":[{"productName":"A","quantity":1,"price":"1"}]})", "items[0].price"},
        {R"({"customerName":"A","items":[{"productName":"A","quantity":1,"price":-1}]})", "items[0].price"},
        {R"({"customerName":"A","items":[{"productName":"A","quantity":1,"price":1.999}]})", "items[0].price"},
        {R"({"customerName":"A","items":[{"productName":"A","quantity":1,"price":1e3}]})", "items[0].price"},
        {R"({"customerName":"A","items":[{"productName":"A","quantity":1,"price":1000000000.01}]})", "items[0].price"},
        {R"([])", "body"},
    };
    for (const auto& c : cases) EXPECT_TRUE(names(errorsFor(c.body), c.field)) << c.body << " should name " << c.field;
}

TEST(OrderValidation, NamesWithControlCharactersOrOnlyUnicodeSpacesAreRefused) {
    const std::string tail = R"(","items":[{"productName":"A","quantity":1,"price":1}]})";
    for (const std::string& name :
         std::vector<std::string>{R"(a\u0000b)", R"(a\u001fb)", R"(a\nb)", R"(\u007f)", R"(x\u0085y)",
                                  "\xC2\xA0\xE3\x80\x80",  // no-break space, ideographic space
                                  R"(\u2003\u2028\u00a0)", R"(\ufeff\u200a)"}) {
        const auto errors = errorsFor(R"({"customerName":")" + name + tail);
        EXPECT_TRUE(names(errors, "customerName")) << name;
    }
    EXPECT_TRUE(names(errorsFor(R"({"customerName":"A","items":[{"productName":"\u3000","quantity":1,"price":1}]})"),
                      "items[0].productName"));
    auto fine =
        sdk::parseJson(R"({"customerName":"Zo\u00eb \u2603","items":[{"productName":"A","quantity":1,"price":1}]})");
    NewOrder order;
    std::vector<sdk::FieldError> errors;
    EXPECT_TRUE(validateNewOrder(*fine, &order, &errors));
}

TEST(OrderValidation, CountsCharactersNotBytes) {
    std::string twoHundredUmlauts;
    for (int i = 0; i < 200; ++i) twoHundredUmlauts += "\xC3\xBC";  // ü is 2 bytes
    auto doc = sdk::parseJson(R"({"customerName":")" + twoHundredUmlauts +
                              R"(","items":[{"productName":"A","quantity":1,"price":1}]})");
    ASSERT_TRUE(doc.isOk());
    NewOrder n;
    std::vector<sdk::FieldError> errors;
    EXPECT_TRUE(validateNewOrder(*doc, &n, &errors));
}

TEST(OrderValidation, AcceptsOneHundredItemsButNotOneHundredAndOne) {
    std::string items;
    for (int i = 0; i < 100; ++i) items += std::string(i ? "," : "") + R"({"productName":"A","quantity":1,"price":0})";
    auto ok = sdk::parseJson(R"({"customerName":"A","items":[)" + items + "]}");
    NewOrder n;
    std::vector<sdk::FieldError> errors;
    EXPECT_TRUE(validateNewOrder(*ok, &n, &errors));
    EXPECT_TRUE(names(
        errorsFor(R"({"customerName":"A","items":[)" + items + R"(,{"productName":"A","quantity":1,"price":0}]})"),
        "items"));
}

TEST(OrderValidation, CancelReasonMustBePresentNotBlankAndAtMost500Characters) {
    std::vector<sdk::FieldError> errors;
    EXPECT_FALSE(validateCancelReason(nullptr, &errors));
    const std::string blank = "  ", ok(500, 'r'), tooLong(501, 'r');
    EXPECT_FALSE(validateCancelReason(&blank, &errors));
    EXPECT_FALSE(validateCancelReason(&tooLong, &errors));
    EXPECT_TRUE(validateCancelReason(&ok, &errors));
    EXPECT_EQ(errors.size(), 3u);
}

TEST(OrderValidation, CancelReasonMustBeCleanTextAndNotOnlyUnicodeSpaces) {
    std::vector<sdk::FieldError> errors;
    for (const std::string& reason : {std::string("x\xFFy"), std::string("x\0y", 3), std::string("line\nbreak"),
                                      std::string("\xE2\x80\x83\xC2\xA0")}) {
        errors.clear();
        EXPECT_FALSE(validateCancelReason(&reason, &errors)) << reason;
        EXPECT_EQ(errors.size(), 1u);
    }
    const std::string fine = "Kunde hat storniert \xE2\x9C\x93";
    EXPECT_TRUE(validateCancelReason(&fine, &errors));
}

}  // namespace
}  // namespace ordersystem::plugins::orders::domain
