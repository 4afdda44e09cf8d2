package com.example.inventory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/** Compares a stock take with the recorded stock of one warehouse. */
public final class StockReconciler {

    private StockReconciler() {}

    /**
     * SKUs whose counted quantity differs from the recorded one, in SKU order. A SKU missing on
     * either side counts as a quantity of 0 there.
     */
    public static List<String> mismatches(Map<String, Integer> recorded, Map<String, Integer> counted) {
        TreeSet<String> skus = new TreeSet<>(recorded.keySet());
        skus.addAll(counted.keySet());
        List<String> out = new ArrayList<>();
        for (String sku : skus) {
            Integer expected = recorded.getOrDefault(sku, 0);
            Integer actual = counted.getOrDefault(sku, 0);
            if (expected != actual) {
                out.add(sku);
            }
        }
        return out;
    }

    /** Counted minus recorded for every mismatched SKU: negative means stock went missing. */
    public static Map<String, Integer> differences(Map<String, Integer> recorded, Map<String, Integer> counted) {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (String sku : mismatches(recorded, counted)) {
            out.put(sku, counted.getOrDefault(sku, 0) - recorded.getOrDefault(sku, 0));
        }
        return out;
    }
}
