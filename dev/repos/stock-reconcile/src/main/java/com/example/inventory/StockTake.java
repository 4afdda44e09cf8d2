package com.example.inventory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The lines of a stock take as scanned: the same SKU may be scanned on several shelves. */
public record StockTake(List<Line> lines) {

    public record Line(String sku, int quantity) {
        public Line {
            if (sku == null || sku.isBlank()) throw new IllegalArgumentException("a line needs a SKU");
            if (quantity < 0) throw new IllegalArgumentException("negative quantity for " + sku);
        }
    }

    /** Quantities per SKU, shelves added up. */
    public Map<String, Integer> totals() {
        Map<String, Integer> totals = new HashMap<>();
        for (Line line : lines) {
            totals.merge(line.sku(), line.quantity(), Integer::sum);
        }
        return totals;
    }
}
