/** Python: a date step applied to the previous date, so one month-end clamp carries on for good. */
import { evalCase } from '../eval-case.js';
import { testBefore } from '../intended-fix.js';
import report from '../reports/renewals.json' with { type: 'json' };

const PYTEST = '.venv/bin/python -m pytest -q';

const stepFromThePreviousDate = `    step = relativedelta(months=plan.interval_months)
    dates: list[date] = []
    current = start
    for _ in range(count):
        current = current + step
        dates.append(current)
    return dates`;

const countFromTheStart = `    # Each date counted from the start: stepping from the previous date would carry a month-end
    # clamp along (31 January -> 29 February -> 29 March -> ...).
    return [start + relativedelta(months=plan.interval_months * n) for n in range(1, count + 1)]`;

export const renewalsCase = evalCase(
  'renewals',
  'date arithmetic drift',
  report,
  {
    search: { pattern: 'def renewal_dates', file_pattern: '*.py', expectPath: 'src/renewals/schedule.py' },
    read: ['src/renewals/schedule.py', 'tests/test_schedule.py'],
    // pytest -q ends with "1 failed, 6 passed in 0.06s" or "7 passed in 0.05s".
    tests: { command: PYTEST, failed: /^[1-9]\d* failed\b/m, passed: /^\d+ passed\b/m },
    failureShows: 'FAILED tests/test_schedule.py::test_month_end_subscription_renews_on_its_day_after_february',
    diagnosis:
      'Each renewal is the previous renewal plus a month, so once relativedelta clamps 31 January to 29 February, every later date stays on the 29th. The dates must be counted from the start date.',
    fix: [{ path: 'src/renewals/schedule.py', old_string: stepFromThePreviousDate, new_string: countFromTheStart }],
    regressionTest: testBefore(
      'tests/test_schedule.py',
      'def test_a_plan_renews_at_least_monthly():',
      'def test_renewals_return_to_the_31st_after_a_leap_day_clamp():\n    # regression: one clamp to 29 February must not carry over to later months\n    assert renewal_dates(date(2024, 1, 31), MONTHLY, 3) == [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]',
      '\n\n\n',
    ),
    commitMessage: 'Count renewal dates from the start so a month-end clamp does not carry over',
    summary:
      '`renewal_dates` added the interval to the previous renewal, so a subscription started on the 31st, clamped to 29 February once, renewed on the 29th ever after. Each date is now `start + relativedelta(months=interval * n)`, which clamps only in months that are too short.',
  },
  {
    ecosystem: 'python',
    environment: {
      toolchains: { python: '3.11' },
      setup: 'python3 -m venv .venv && .venv/bin/pip install -r requirements.txt',
      egress: { presets: ['pypi'] },
      cacheKeyFiles: ['requirements.txt'],
    },
    validation: { test: PYTEST },
    host: {
      // The setup's venv, filled by the host's pip (a venv's own pip costs seconds to install).
      prepare: [
        ['python3', '-m', 'venv', '--without-pip', '.venv'],
        ['python3', '-m', 'pip', '--python', '.venv/bin/python', 'install', '-q', '-r', 'requirements.txt'],
      ],
      test: ['.venv/bin/python', '-m', 'pytest', '-q'],
      // pyproject's testpaths is tests/: a plain `pytest` never collects hidden_acceptance/.
      acceptance: {
        source: 'renewals',
        target: 'hidden_acceptance',
        run: ['.venv/bin/python', '-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'hidden_acceptance'],
      },
    },
  },
);
