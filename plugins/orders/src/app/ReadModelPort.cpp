// The types of the read model port (see ReadModelPort.h).
#include "app/ReadModelPort.h"

#include "ordersystem/sdk/json.h"

namespace ordersystem::plugins::orders::app {

std::shared_ptr<const RenderedOrder> renderOrder(domain::Order order) {
    auto rendered = std::make_shared<RenderedOrder>();
    rendered->order = std::move(order);
    rendered->document.reserve(512);
    sdk::JsonWriter w(rendered->document);
    domain::writeOrderDocument(w, rendered->order);
    return rendered;
}

}  // namespace ordersystem::plugins::orders::app
