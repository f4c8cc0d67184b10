"""Two tabs on one workspace (one person on two devices, or two replicas): each tab tells its own clicks."""

from __future__ import annotations

import time
from pathlib import Path

from lib.config import API_KEY_NAME, DATA_DIR_NAME, ENDPOINT_NAME
from lib.jobs import FAILED, SqliteJobStore
from tests.app_testing import RUN_TIMEOUT_S, assert_healthy, errors, finish_jobs, open_app, workspace_of
from tests.fault_server import FaultServer

REFUSED = "Prompt is not allowed"  # the fault server's 400 message


def click_generate(at, prompt: str) -> None:  # at: AppTest
    """Type a prompt and press Generate (the click queues a job and returns at once)."""
    at.text_area(key="generate_prompt").set_value(prompt)
    at.button(key="generate_run").click().run()


def wait_until_failed(data_dir: Path, workspace: str) -> None:
    """Wait until the workspace's latest click has failed (its job runs in the background)."""
    jobs = SqliteJobStore(data_dir)
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not all(job.status == FAILED for job in jobs.latest_batch(workspace)):
            assert time.monotonic() < deadline, "the job did not fail in time"
            time.sleep(0.05)
    finally:
        jobs.close()


def test_a_failed_click_is_told_on_its_tab_after_another_tab_clicked(fault_server: FaultServer,
                                                                      data_dir: Path) -> None:
    """Tab A's click fails; tab B clicks before A looks again: A still says why, B never shows A's error."""
    fault_server.mode = "400"
    secrets = {API_KEY_NAME: "sk_test_two_tabs", ENDPOINT_NAME: fault_server.switchable_endpoint,
               DATA_DIR_NAME: str(data_dir)}
    tab_a = open_app(secrets)
    workspace = workspace_of(tab_a)
    tab_b = open_app(secrets, workspace=workspace)
    click_generate(tab_a, "a lighthouse at dusk, from tab A")
    wait_until_failed(data_dir, workspace)

    fault_server.mode = "ok"
    click_generate(tab_b, "a lighthouse at dawn, from tab B")  # now the workspace's latest click
    tab_a.run()
    assert_healthy(tab_a)
    assert any(REFUSED in shown for shown in errors(tab_a)), errors(tab_a)

    finish_jobs(tab_b)
    assert_healthy(tab_b)
    assert not any(REFUSED in shown for shown in errors(tab_b)), errors(tab_b)
