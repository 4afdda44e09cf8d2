/**
 * Custom search attributes of a fix, as typed keys (deterministic: safe in workflows).
 * temporal.config.ts registers them on the dev server from this list.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const BugIdKey = defineSearchAttributeKey('BugId', SearchAttributeType.KEYWORD);
export const ProjectKeyKey = defineSearchAttributeKey('ProjectKey', SearchAttributeType.KEYWORD);
export const PhaseKey = defineSearchAttributeKey('Phase', SearchAttributeType.KEYWORD);
export const IterationKey = defineSearchAttributeKey('Iteration', SearchAttributeType.INT);
export const CostUsdKey = defineSearchAttributeKey('CostUsd', SearchAttributeType.DOUBLE);

export const ALL_SEARCH_ATTRIBUTE_KEYS = [BugIdKey, ProjectKeyKey, PhaseKey, IterationKey, CostUsdKey] as const;
