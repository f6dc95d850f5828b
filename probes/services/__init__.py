"""Writes for probes, one module per job.

- ``preconditions``: whether a probe may run (the egress guard, the ownership
  proof, the caps); every entry point asks it, and it raises ``ProbeRefused``.
- ``runs``: the web side: save an endpoint, start, enqueue and cancel a run.
- ``execution``: the worker side: claim and run a shard, report, finalize the run.
- ``reaper``: end the shards whose worker is gone.

The flow of one run:

1. ``runs.probe_start`` (web request) checks the caps, the guard and the
   ownership proof, then, under a lock on the team row, the team's running cap;
   it creates the ``ProbeRun`` and one ``ProbeShard`` per shard and enqueues one
   Celery task per shard when the transaction commits
   (``decisions.jobs.job_enqueue``). A broker that cannot be reached fails the
   run at once with "the job queue is unavailable".
2. ``execution.shard_execute`` (worker) claims its shard with a conditional
   update (``Job.claim``), so a redelivered message never fires the load twice;
   checks the target again through ``preconditions.checked_target`` (DNS
   answers and the allow-list can change between a request and its run); runs
   the engine; and stores the shard's outcome. A reporter thread writes
   progress and a heartbeat to the database while the engine runs, and reads
   the run's ``cancel_requested`` flag, so database I/O never stalls the event
   loop that times the requests.
3. ``execution.run_finalize`` is called after every shard ends; only the call
   that sees all shards finished, and wins the conditional update, merges the
   shard outcomes (histograms merge exactly) and closes the run.
4. ``reaper.reap_stale_runs`` (through ``decisions.jobs.reap_stale_jobs``,
   Celery beat) interrupts shards whose worker stopped sending heartbeats
   (killed, machine lost) and finalizes their runs with whatever was measured
   so far. A shard is never claimed again: the target gets no more load than
   was asked.
"""
