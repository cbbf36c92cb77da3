-- POST /api/v1/orders as one buyer, a fresh Idempotency-Key each time; with "pay", every
-- placed order is then confirmed paid by an admin (the order's Location, as the next request).
-- Arguments: buyer token, admin token or "-", product id, subdistrict code, postal code.
local buyer, admin, product, subdistrict, postal
local counter, pending = 0, {}

init = function(args)
  buyer, admin, product, subdistrict, postal = args[1], args[2], args[3], args[4], args[5]
  math.randomseed(os.time() + math.floor(os.clock() * 1e6) + tonumber(tostring({}):sub(8), 16))
end

request = function()
  if #pending > 0 then
    local location = table.remove(pending, 1)
    return wrk.format("POST", location .. "/payment-confirmations",
      {["Authorization"] = "Bearer " .. admin, ["Content-Type"] = "application/json"},
      '{"reference": "bench"}')
  end
  counter = counter + 1
  local key = string.format("bench-%d-%d-%d", os.time(), math.random(1, 1000000000), counter)
  local body = string.format(
    '{"items": [{"product_id": %s, "quantity": 1}], "payment_method": "transfer",'
    .. ' "shipping": {"name": "ผู้ซื้อทดสอบ", "phone": "0812345678", "address_line": "1 หมู่ 1",'
    .. ' "subdistrict_code": "%s", "postal_code": "%s"}}', product, subdistrict, postal)
  return wrk.format("POST", "/api/v1/orders",
    {["Authorization"] = "Bearer " .. buyer, ["Content-Type"] = "application/json",
     ["Idempotency-Key"] = key}, body)
end

response = function(status, headers, body)
  if status == 201 and admin ~= "-" then
    local location = headers["Location"] or headers["location"]
    if location then
      table.insert(pending, (location:gsub("^https?://[^/]+", "")))
    end
  end
end
