-- Ping-post auctions (issue #15; docs/routing.md "Ping-post"): a routed call won in an auction
-- keeps the auction's id, the winning bid's id as the buyer sent it and its price (minor units
-- of the account's currency; 0 = no auction won), so reports and P&L can use the price.
-- Additive: the columns have defaults, existing rows read as "no auction".
ALTER TABLE call_routes ADD COLUMN auction_id TEXT NOT NULL DEFAULT '';
ALTER TABLE call_routes ADD COLUMN bid_id TEXT NOT NULL DEFAULT '';
ALTER TABLE call_routes ADD COLUMN bid_price INTEGER NOT NULL DEFAULT 0;
