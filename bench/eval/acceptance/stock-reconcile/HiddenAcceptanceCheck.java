package com.example.inventory;

// Hidden acceptance test: never part of the repository the agent gets. The eval harness copies it
// into the checkout's src/test/java on the host under a class name that surefire's default
// includes (*Test, Test*, *Tests, *TestCase) do not pick up, and runs it alone with -Dtest.

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HiddenAcceptanceCheck {

    /** The same quantities as separately boxed values, the way two data sources deliver them. */
    private static Map<String, Integer> copyOf(Map<String, Integer> quantities) {
        Map<String, Integer> copy = new HashMap<>();
        quantities.forEach((sku, q) -> copy.put(sku, Integer.valueOf(Integer.toString(q))));
        return copy;
    }

    @Test
    void equalQuantitiesOfAnySizeAreNotMismatches() {
        Map<String, Integer> recorded = Map.of("S", 5, "M", 127, "L", 128, "XL", 4_000, "XXL", 1_000_000);
        assertEquals(List.of(), StockReconciler.mismatches(recorded, copyOf(recorded)));
    }

    @Test
    void negativeBookStockAlsoMatches() {
        Map<String, Integer> recorded = Map.of("RET-1", -129, "RET-2", -500);
        assertEquals(List.of(), StockReconciler.mismatches(recorded, copyOf(recorded)));
    }

    @Test
    void realDifferencesAreStillReported() {
        Map<String, Integer> recorded = Map.of("A", 300, "B", 7, "C", 1_000);
        Map<String, Integer> counted = Map.of("A", 299, "B", 7, "C", 1_000, "D", 250);
        assertEquals(List.of("A", "D"), StockReconciler.mismatches(recorded, counted));
        assertEquals(Map.of("A", -1, "D", 250), StockReconciler.differences(recorded, counted));
    }

    @Test
    void scannedStockTakeOfAFullWarehouse() {
        StockTake take = new StockTake(List.of(
                new StockTake.Line("PAL-1", 480), new StockTake.Line("PAL-1", 480),
                new StockTake.Line("PAL-2", 1_200), new StockTake.Line("BOX-3", 12)));
        Map<String, Integer> recorded = Map.of("PAL-1", 960, "PAL-2", 1_200, "BOX-3", 12);
        assertEquals(List.of(), StockReconciler.mismatches(recorded, take.totals()));
    }
}
