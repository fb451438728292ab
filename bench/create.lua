-- wrk: POST /api/orders with the README's two-item order.
wrk.method = "POST"
wrk.body = '{"customerName":"Bench Customer","items":[{"productName":"Laptop","quantity":1,"price":999.99},{"productName":"Mouse","quantity":2,"price":29.99}]}'
wrk.headers["Content-Type"] = "application/json"
