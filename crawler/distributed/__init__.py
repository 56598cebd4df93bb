"""Distributed crawls: a run's accounts as jobs of procrastinate, a task queue kept in the index's PostgreSQL.

`codeindex crawl --enqueue` (or `codeindex schedule --enqueue`) plans a run and defers one job per account;
`codeindex worker` processes, on any number of machines, take them. Each job carries a lock per account (two
workers never crawl the same account at once) and a queueing lock (one waiting job per account). A worker killed
mid-account leaves its job `doing` with a heartbeat that stops: the other workers find it stalled and put it back
in the queue. The run's bookkeeping is the index's (`index.queue`): the worker that stores a run's last account
closes the run and defers its export, once.

- `queue`: the procrastinate app, the schema, deferring a run.
- `worker`: the tasks and the worker process.
- `budgets`: rate-limit budgets shared through PostgreSQL.
"""

QUEUE = "crawl"
CRAWL_TASK = "codeindex.crawl_account"
EXPORT_TASK = "codeindex.export_run"
