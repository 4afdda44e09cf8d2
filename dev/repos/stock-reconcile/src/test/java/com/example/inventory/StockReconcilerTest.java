package com.example.inventory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StockReconcilerTest {

    @Test
    void matchingCountsHaveNoMismatches() {
        Map<String, Integer> recorded = Map.of("A-1", 4, "B-2", 12);
        assertEquals(List.of(), StockReconciler.mismatches(recorded, Map.of("A-1", 4, "B-2", 12)));
    }

    @Test
    void differentCountsAreMismatches() {
        Map<String, Integer> recorded = Map.of("A-1", 4, "B-2", 12);
        assertEquals(List.of("B-2"), StockReconciler.mismatches(recorded, Map.of("A-1", 4, "B-2", 11)));
        assertEquals(Map.of("B-2", -1), StockReconciler.differences(recorded, Map.of("A-1", 4, "B-2", 11)));
    }

    @Test
    void aSkuMissingOnOneSideCountsAsZero() {
        assertEquals(List.of("C-3", "D-4"), StockReconciler.mismatches(Map.of("C-3", 2), Map.of("D-4", 1)));
        assertEquals(List.of(), StockReconciler.mismatches(Map.of("E-5", 0), Map.of()));
    }

    @Test
    void palletQuantitiesMatchWhenEqual() {
        StockTake take = new StockTake(List.of(new StockTake.Line("P-9", 200), new StockTake.Line("P-9", 150)));
        assertEquals(List.of(), StockReconciler.mismatches(Map.of("P-9", 350), take.totals()));
    }

    @Test
    void stockTakeLinesAddUpPerSku() {
        StockTake take = new StockTake(List.of(new StockTake.Line("A-1", 3), new StockTake.Line("A-1", 2)));
        assertEquals(Map.of("A-1", 5), take.totals());
        assertThrows(IllegalArgumentException.class, () -> new StockTake.Line("A-1", -1));
    }
}
