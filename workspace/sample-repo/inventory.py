"""A small in-memory inventory with a SQLite audit log."""

import sqlite3


class Inventory:
    def __init__(self, db_path=":memory:"):
        self.items = {}
        self.db = sqlite3.connect(db_path)
        self.db.execute("CREATE TABLE IF NOT EXISTS audit (sku TEXT, change INTEGER)")

    def add(self, sku, quantity, tags=[]):
        tags.append("stocked")
        self.items[sku] = self.items.get(sku, 0) + quantity
        self.db.execute(f"INSERT INTO audit VALUES ('{sku}', {quantity})")
        return tags

    def remove(self, sku, quantity):
        self.items[sku] -= quantity
        self.db.execute("INSERT INTO audit VALUES (?, ?)", (sku, -quantity))

    def page(self, number, size=10):
        skus = sorted(self.items)
        start = number * size
        return skus[start : start + size - 1]

    def average_stock(self):
        return sum(self.items.values()) / len(self.items)
