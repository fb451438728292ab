// Request validation rules (see Validation.h).
#include "domain/Validation.h"

#include "domain/Money.h"

namespace ordersystem::plugins::orders::domain {

using sdk::FieldError;
using sdk::JsonValue;

size_t codePointCount(std::string_view utf8) noexcept {
    size_t n = 0;
    for (const char c : utf8)
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
    return n;
}

namespace {

void add(std::vector<FieldError>* errors, std::string field, std::string message) {
    errors->push_back(FieldError{std::move(field), std::move(message)});
}

/// The name of a field as the client knows it ("customerName", "items[2].price"), built only
/// when an error names it: a valid order allocates none of these strings.
struct FieldName {
    const char* base;
    const char* member = nullptr;  ///< for items[index].member
    size_t index = 0;
    std::string text() const {
        if (!member) return base;
        return std::string(base) + "[" + std::to_string(index) + "]" + (*member ? "." : "") + member;
    }
};

void add(std::vector<FieldError>* errors, const FieldName& field, std::string_view rule) {
    std::string name = field.text();
    std::string message = name;
    message += ' ';
    message += rule;
    add(errors, std::move(name), std::move(message));
}

/// A required name-like string of 1..kMaxNameChars code points that is not blank.
bool checkName(const JsonValue* v, const FieldName& field, std::string* out, std::vector<FieldError>* errors) {
    if (!v || v->isNull()) {
        add(errors, field, "is required");
        return false;
    }
    if (!v->isString()) {
        add(errors, field, "must be a string");
        return false;
    }
    const size_t n = codePointCount(v->asString());
    if (n == 0 || n > kMaxNameChars) {
        add(errors, field, "must be between 1 and 200 characters");
        return false;
    }
    if (!sdk::isCleanText(v->asString())) {
        add(errors, field, "must not contain control characters");
        return false;
    }
    if (sdk::isBlankText(v->asString())) {
        add(errors, field, "must not be blank");
        return false;
    }
    *out = v->asString();
    return true;
}

bool checkItem(const JsonValue& v, size_t index, OrderItem* out, std::vector<FieldError>* errors) {
    if (!v.isObject()) {
        add(errors, FieldName{"items", "", index}, "must be an object");
        return false;
    }
    bool ok = checkName(v.find("productName"), FieldName{"items", "productName", index}, &out->productName, errors);

    const FieldName qField{"items", "quantity", index};
    const JsonValue* q = v.find("quantity");
    if (!q || q->isNull()) {
        add(errors, qField, "is required");
        ok = false;
    } else if (!q->isNumber() || !q->asInt64(&out->quantity)) {
        add(errors, qField, "must be an integer");
        ok = false;
    } else if (out->quantity < 1 || out->quantity > kMaxQuantity) {
        add(errors, qField, "must be between 1 and 10000");
        ok = false;
    }

    const FieldName pField{"items", "price", index};
    const JsonValue* p = v.find("price");
    if (!p || p->isNull()) {
        add(errors, pField, "is required");
        ok = false;
    } else if (!p->isNumber()) {
        add(errors, pField, "must be a number");
        ok = false;
    } else if (auto cents = parseCents(p->numberText())) out->priceCents = *cents;
    else {
        add(errors, pField, "must be between 0 and 1000000000 with at most 2 decimals");
        ok = false;
    }
    return ok;
}

}  // namespace

bool validateNewOrder(const JsonValue& body, NewOrder* out, std::vector<FieldError>* errors) {
    if (!body.isObject()) {
        add(errors, "body", "The request body must be a JSON object");
        return false;
    }
    bool ok = checkName(body.find("customerName"), FieldName{"customerName"}, &out->customerName, errors);
    const JsonValue* items = body.find("items");
    if (!items || items->isNull()) {
        add(errors, "items", "items is required");
        return false;
    }
    if (!items->isArray()) {
        add(errors, "items", "items must be an array");
        return false;
    }
    const auto& list = items->items();
    if (list.empty() || list.size() > kMaxItems) {
        add(errors, "items", "items must contain between 1 and 100 items");
        return false;
    }
    out->items.resize(list.size());
    for (size_t i = 0; i < list.size(); ++i) ok = checkItem(list[i], i, &out->items[i], errors) && ok;
    return ok;
}

bool validateCancelReason(const std::string* reason, std::vector<FieldError>* errors) {
    if (!reason || sdk::isBlankText(*reason)) {
        add(errors, "reason", "reason is required and must not be blank");
        return false;
    }
    if (!sdk::isCleanText(*reason)) {
        add(errors, "reason", "reason must be valid UTF-8 without control characters");
        return false;
    }
    if (codePointCount(*reason) > kMaxReasonChars) {
        add(errors, "reason", "reason must be at most 500 characters");
        return false;
    }
    return true;
}

}  // namespace ordersystem::plugins::orders::domain
