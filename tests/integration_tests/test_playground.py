"""The playground page, driven in a real headless Chromium against a real server.

The browser is Debian's ``chromium`` with ``chromium-driver`` (``make install`` installs them
when missing and root); Selenium talks to ``/usr/bin/chromedriver`` directly, so nothing is
downloaded. Waits are generous (the CI machine is small and shared); no timing asserts.
Screenshots of the main views land in ``tests/artifacts/``.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from langchain_assistants.server.embedded import RunningServer, start_server
from langchain_assistants.testing.cli_server import start_cli_server

from .helpers import SCRIPT_FILES

pytestmark = pytest.mark.slow

KEY = "sk-playground-test"
WAIT = 30.0
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
QUESTION = "What's 10 - 4 raised to the 2.7"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
]
PLOT_CODE = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nprint('drawn')"
SLOW_ANSWER = " ".join(f"word{i}" for i in range(40))  # 8 chunks, 3 s apart
SCRIPT = {
    "rules": [
        {
            "match": "raised to the",
            "turns": [
                {
                    "tool_calls": [
                        {"name": "code_interpreter", "args": {"input": "print(10 - 4 ** 2.7)"}}
                    ]
                },
                {
                    # Many words over a few seconds: the page shows them arrive chunk by chunk.
                    "content": "I ran the code in the sandbox and it printed the value, so "
                    "the answer to your question is {last_tool_output} as computed.",
                    "delay_ms": 4000,
                },
            ],
        },
        {
            "match": "weather",
            "turns": [
                {"tool_calls": [{"name": "get_weather", "args": {"location": "Paris"}}]},
                {"content": "In Paris it is {last_tool_output}."},
            ],
        },
        {
            "match": "plot",
            "turns": [
                {"tool_calls": [{"name": "code_interpreter", "args": {"input": PLOT_CODE}}]},
                {"content": "Here is the plot."},
            ],
        },
        {"match": "explode", "turns": [{"error": "model backend unavailable"}]},
        {"match": "take your time", "turns": [{"content": SLOW_ANSWER, "delay_ms": 24_000}]},
        {"match": "", "turns": [{"content": "Hello from the playground script."}]},
    ]
}
WEATHER_TOOL = [
    {
        "name": "get_weather",
        "description": "Weather for a place",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    }
]


@pytest.fixture(scope="module")
def model_spec(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("playground") / "script.json"
    path.write_text(json.dumps(SCRIPT))
    return f"scripted:{path}"


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server of its own (an empty assistant list) that requires an API key."""
    tmp = tmp_path_factory.mktemp("playground-server")
    with start_server(
        db=str(tmp / "db.sqlite"),
        api_key=KEY,
        sandbox_dir=tmp / "sandbox",
        allowed_models=SCRIPT_FILES,  # the page's assistants name script files
    ) as s:
        yield s


@pytest.fixture(scope="module")
def origin(keyed_server: RunningServer) -> str:
    return keyed_server.base_url.removesuffix("/v1")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        message = "chromium + chromium-driver are needed (make install sets them up as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never reach the network
        chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    chrome.set_script_timeout(WAIT)
    try:
        yield chrome
    finally:
        chrome.quit()


# --------------------------------------------------------------------------- helpers


def wait_for(browser: WebDriver, condition: Any, message: str) -> Any:
    def check(driver: WebDriver) -> Any:
        try:
            return condition(driver)
        except StaleElementReferenceException:  # the page re-rendered meanwhile: retry
            return False

    return WebDriverWait(browser, WAIT, poll_frequency=0.1).until(check, message)


def visible(browser: WebDriver, css: str) -> WebElement:
    def shown(driver: WebDriver) -> Any:
        found = driver.find_elements(By.CSS_SELECTOR, css)
        return found[0] if found and found[0].is_displayed() else False

    return wait_for(browser, shown, f"{css} to be visible")  # type: ignore[no-any-return]


def text_of(browser: WebDriver, css: str) -> str:
    """The element's rendered text, read in one script call (no stale references)."""
    script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';"
    return str(browser.execute_script(script, css))


def wait_text(browser: WebDriver, css: str, expected: str) -> str:
    wait_for(browser, lambda d: expected in text_of(d, css), f"{css} to contain {expected!r}")
    return text_of(browser, css)


def fill(browser: WebDriver, css: str, value: str) -> None:
    element = visible(browser, css)
    element.clear()
    element.send_keys(value)


def screenshot(browser: WebDriver, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def open_fresh(browser: WebDriver, origin: str) -> None:
    """The page with nothing remembered: no key, no threads."""
    browser.get(f"{origin}/playground")
    browser.execute_script("sessionStorage.clear(); localStorage.clear();")
    browser.get(f"{origin}/playground")


def enter_key(browser: WebDriver, key: str) -> None:
    visible(browser, "#key-dialog[open] #key-input")
    fill(browser, "#key-input", key)
    browser.find_element(By.ID, "key-save").click()


def log_in(browser: WebDriver, origin: str) -> None:
    open_fresh(browser, origin)
    enter_key(browser, KEY)
    wait_text(browser, "#server-status", "connected")


def last_answer_and_status(browser: WebDriver) -> tuple[str, str]:
    """One consistent read of the newest assistant message's text and the newest run's status."""
    return tuple(  # type: ignore[return-value]
        browser.execute_script(
            "const m = document.querySelectorAll('#messages li.role-assistant');"
            "const run = document.querySelector('#runs .run-card');"
            "return [m.length ? m[m.length - 1].querySelector('.content').textContent : '',"
            "        run ? run.dataset.status : ''];"
        )
    )


def send(browser: WebDriver, text: str) -> None:
    wait_for(browser, lambda d: d.find_element(By.ID, "send").is_enabled(), "the composer")
    fill(browser, "#message-input", text)
    browser.find_element(By.ID, "send").click()


def create_assistant(browser: WebDriver, model_spec: str) -> str:
    browser.find_element(By.ID, "new-assistant").click()
    fill(browser, "#assistant-form [name=name]", "math tutor")
    fill(browser, "#assistant-form [name=model]", model_spec)
    fill(browser, "#assistant-form [name=instructions]", "Write and run code to answer.")
    browser.find_element(By.CSS_SELECTOR, "#assistant-form [name=code_interpreter]").click()
    fill(browser, "#assistant-form [name=functions]", json.dumps(WEATHER_TOOL))
    # The server validates: its own message shows on the page.
    fill(browser, "#assistant-form [name=temperature]", "5")
    browser.find_element(By.ID, "save-assistant").click()
    wait_text(browser, "#error-text", "temperature")
    fill(browser, "#assistant-form [name=temperature]", "0.2")
    browser.find_element(By.ID, "save-assistant").click()
    wait_for(browser, lambda d: "#/assistants/asst_" in d.current_url, "the saved assistant")
    visible(browser, "#delete-assistant")  # the editor of the saved assistant is on screen
    wait_text(browser, "#assistant-list", "math tutor")
    return browser.current_url.rsplit("/", 1)[-1]


def server_can_upload(origin: str) -> bool:
    """Whether this server build accepts uploads (another part of the project adds them)."""
    paths = httpx2.get(f"{origin}/openapi.json").json()["paths"]
    return "post" in paths.get("/v1/files", {})


# --------------------------------------------------------------------------- tests


def test_root_points_to_docs_and_playground(origin: str) -> None:
    answer = httpx2.get(f"{origin}/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["docs"] == "/docs" and body["playground"] == "/playground"
    assert httpx2.get(f"{origin}{body['docs']}").status_code == 200


def test_page_and_assets_are_served_without_a_key(origin: str) -> None:
    page = httpx2.get(f"{origin}/playground", follow_redirects=True)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'src="playground.js"' in page.text
    for name, kind in (("playground.js", "javascript"), ("playground.css", "text/css")):
        asset = httpx2.get(f"{origin}/playground/{name}")
        assert asset.status_code == 200 and kind in asset.headers["content-type"]
    missing = httpx2.get(f"{origin}/playground/secrets.txt")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "No playground file named 'secrets.txt'."
    # The API itself still needs the key.
    assert httpx2.get(f"{origin}/v1/assistants").status_code == 401


def test_wrong_key_brings_the_prompt_back_with_the_servers_message(
    browser: WebDriver, origin: str
) -> None:
    open_fresh(browser, origin)
    enter_key(browser, "sk-wrong")
    wait_text(browser, "#key-message", "Incorrect API key provided")
    enter_key(browser, KEY)
    wait_text(browser, "#server-status", "connected")
    assert not browser.find_element(By.ID, "key-dialog").is_displayed()


def test_assistant_thread_stream_steps_tool_outputs_and_reload(
    browser: WebDriver, origin: str, model_spec: str, tmp_path: Path
) -> None:
    log_in(browser, origin)
    assistant_id = create_assistant(browser, model_spec)
    screenshot(browser, "playground-assistant")
    saved = httpx2.get(
        f"{origin}/v1/assistants/{assistant_id}", headers={"Authorization": f"Bearer {KEY}"}
    ).json()
    assert {t["type"] for t in saved["tools"]} == {"code_interpreter", "function"}
    assert saved["model"] == model_spec and saved["temperature"] == 0.2

    visible(browser, "#chat-assistant").click()
    thread_id = visible(browser, "#thread-id").text
    assert thread_id.startswith("thread_")

    # The math question: the answer grows on the page while the run is still going.
    send(browser, QUESTION)
    seen: list[str] = []

    def finished(driver: WebDriver) -> bool:
        text, status = last_answer_and_status(driver)
        if status != "completed" and text and (not seen or seen[-1] != text):
            seen.append(text)
        return status == "completed"

    wait_for(browser, finished, "the run to complete")
    assert len(seen) >= 2, f"the answer did not arrive in pieces: {seen}"
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(seen))
    wait_text(
        browser, "#messages li.role-assistant:last-child", "the answer to your question is -32.22"
    )
    # The code step, with its input and logs, in the newest run's card.
    wait_text(browser, "#runs .run-card .code-input", "print(10 - 4 ** 2.7)")
    assert "-32.22" in text_of(browser, "#runs .run-card .code-logs")
    assert "completion =" in text_of(browser, "#runs .run-card .fact-usage")
    screenshot(browser, "playground-thread")

    # A function call: the run pauses, the form takes the output by hand, the run resumes.
    send(browser, "How is the weather in Paris?")
    output_box = visible(browser, "#tool-outputs-form textarea.tool-output")
    assert "get_weather" in text_of(browser, "#tool-outputs-form")
    assert "Paris" in text_of(browser, "#tool-outputs-form")
    screenshot(browser, "playground-requires-action")
    output_box.send_keys("sunny, 21 C")
    browser.find_element(By.ID, "submit-tool-outputs").click()
    wait_text(browser, "#messages li.role-assistant:last-child", "In Paris it is sunny, 21 C.")
    wait_text(browser, "#runs .run-card .function-output", "sunny, 21 C")
    wait_for(browser, lambda d: d.find_element(By.ID, "send").is_enabled(), "the composer back on")

    # A failing run: the run's error shows, and the composer is usable again.
    send(browser, "please explode")
    wait_text(browser, "#error-text", "model backend unavailable")
    wait_for(browser, lambda d: d.find_element(By.ID, "send").is_enabled(), "the composer back on")
    # A figure: shown inline in the step and in the answer, fetched with the key.
    send(browser, "Please plot the squares")
    wait_text(browser, "#messages li.role-assistant:last-child", "Here is the plot.")
    for where in ("#runs .run-card .code-interpreter", "#messages li.role-assistant:last-child"):
        wait_for(
            browser,
            lambda d, where=where: d.execute_script(
                "const img = document.querySelector(arguments[0] + ' img.inline-image');"
                "return !!img && img.src.startsWith('blob:') && img.complete"
                " && img.naturalWidth > 0;",
                where,
            ),
            f"a loaded image in {where}",
        )

    # A running run can be cancelled mid-answer; the composer comes back.
    send(browser, "take your time")
    wait_for(browser, lambda d: "word0" in last_answer_and_status(d)[0], "the answer to start")
    visible(browser, "#cancel-run").click()
    wait_for(browser, lambda d: last_answer_and_status(d)[1] == "cancelled", "the cancelled run")
    wait_for(browser, lambda d: d.find_element(By.ID, "send").is_enabled(), "the composer")
    assert "word39" not in last_answer_and_status(browser)[0]

    # A paused run can be cancelled from the page.
    send(browser, "And the weather tomorrow?")
    visible(browser, "#tool-outputs-form")
    visible(browser, "#cancel-run").click()
    wait_for(browser, lambda d: last_answer_and_status(d)[1] == "cancelled", "the cancelled run")
    wait_for(browser, lambda d: not d.find_elements(By.ID, "tool-outputs-form"), "no form")
    if server_can_upload(origin):  # with the files API: attach a file to a message
        attached = tmp_path / "data.csv"
        attached.write_text("x,y\n1,2\n")
        visible(browser, "#attach").send_keys(str(attached))
    send(browser, "hello again")
    wait_text(browser, "#messages li.role-assistant:last-child", "Hello from the playground")
    if server_can_upload(origin):
        visible(browser, "#messages li.role-user:nth-last-child(2) a.file-link")
    screenshot(browser, "playground-conversation")

    # Reload: the thread is still listed, and reopening it shows the conversation.
    browser.get(f"{origin}/playground/")
    link = visible(browser, f"#thread-list li[data-id='{thread_id}'] a")
    assert QUESTION[:20] in link.text
    link.click()
    wait_text(browser, "#messages", QUESTION)
    wait_text(browser, "#messages", "In Paris it is sunny, 21 C.")


def test_assistant_edit_and_delete(browser: WebDriver, origin: str) -> None:
    log_in(browser, origin)
    browser.find_element(By.ID, "new-assistant").click()
    fill(browser, "#assistant-form [name=name]", "scratch")
    fill(browser, "#assistant-form [name=model]", "gpt-4o")
    fill(browser, "#assistant-form [name=functions]", "[{not json")
    browser.find_element(By.ID, "save-assistant").click()
    wait_text(browser, "#error-text", "Function tools: not valid JSON")
    fill(browser, "#assistant-form [name=functions]", "")
    select = browser.find_element(By.CSS_SELECTOR, "#assistant-form [name=response_format]")
    select.find_element(By.CSS_SELECTOR, "option[value=json_object]").click()
    browser.find_element(By.ID, "save-assistant").click()
    wait_for(browser, lambda d: "#/assistants/asst_" in d.current_url, "the saved assistant")
    visible(browser, "#delete-assistant")  # the editor of the saved assistant is on screen
    assistant_id = browser.current_url.rsplit("/", 1)[-1]

    fill(browser, "#assistant-form [name=name]", "scratch renamed")
    fill(browser, "#assistant-form [name=top_p]", "0.5")
    browser.find_element(By.ID, "save-assistant").click()
    wait_text(browser, "#assistant-saved", "Saved")
    wait_text(browser, "#assistant-list", "scratch renamed")
    auth = {"Authorization": f"Bearer {KEY}"}
    saved = httpx2.get(f"{origin}/v1/assistants/{assistant_id}", headers=auth).json()
    assert saved["name"] == "scratch renamed" and saved["top_p"] == 0.5
    assert saved["response_format"] == {"type": "json_object"}

    browser.find_element(By.ID, "delete-assistant").click()
    browser.switch_to.alert.accept()
    wait_for(browser, lambda d: "scratch renamed" not in text_of(d, "#assistant-list"), "gone")
    gone = httpx2.get(f"{origin}/v1/assistants/{assistant_id}", headers=auth)
    assert gone.status_code == 404


def test_server_errors_show_the_servers_message(browser: WebDriver, origin: str) -> None:
    log_in(browser, origin)
    fill(browser, "#open-thread-id", "thread_nope")
    browser.find_element(By.CSS_SELECTOR, "#open-thread button").click()
    wait_text(browser, "#error-text", "No thread found with id 'thread_nope'.")


def test_storage_views_follow_what_the_server_has(
    browser: WebDriver, origin: str, tmp_path: Path
) -> None:
    """Files and vector stores appear only when the server answers for them."""
    auth = {"Authorization": f"Bearer {KEY}"}
    has_files = httpx2.get(f"{origin}/v1/files", headers=auth).status_code == 200
    has_stores = httpx2.get(f"{origin}/v1/vector_stores", headers=auth).status_code == 200
    can_upload = server_can_upload(origin)
    log_in(browser, origin)
    wait_for(browser, lambda d: d.execute_script("return features.files") == has_files, "probe")
    assert browser.find_element(By.ID, "files-link").is_displayed() == has_files
    assert browser.find_element(By.ID, "vector-stores-link").is_displayed() == has_stores
    assert browser.execute_script("return features.upload") == can_upload
    if has_files:
        browser.find_element(By.CSS_SELECTOR, "#files-link a").click()
        visible(browser, "#files-view")
        assert browser.find_element(By.ID, "upload-form").is_displayed() == can_upload
    if can_upload:  # upload through the page, see it listed, delete it
        notes = tmp_path / "notes.txt"
        notes.write_text("The playground uploaded this.")
        browser.find_element(By.CSS_SELECTOR, "#upload-form input[type=file]").send_keys(str(notes))
        browser.find_element(By.CSS_SELECTOR, "#upload-form button").click()
        wait_text(browser, "#files-view", "notes.txt")
        screenshot(browser, "playground-files")
        browser.find_element(
            By.XPATH, "//tr[td//a[text()='notes.txt']]//button[contains(@class, 'danger')]"
        ).click()
        wait_for(browser, lambda d: "notes.txt" not in text_of(d, "#files-view"), "deleted")


FILE_SEARCH_RULES = {
    "rules": [
        {
            "match": "parrot",
            "turns": [
                {"tool_calls": [{"name": "file_search", "args": {"query": "parrot name"}}]},
                {"content": "The parrot is Quasimodo {first_citation}."},
            ],
        }
    ]
}


def test_vector_stores_file_search_and_citations(
    browser: WebDriver, origin: str, tmp_path: Path
) -> None:
    """Upload, a vector store and its ingestion, a file_search run with its results and a
    citation that opens the cited file; a server without vector stores has them hidden."""
    auth = {"Authorization": f"Bearer {KEY}"}
    has_stores = httpx2.get(f"{origin}/v1/vector_stores", headers=auth).status_code == 200
    log_in(browser, origin)
    if not (has_stores and server_can_upload(origin)):
        assert not browser.find_element(By.ID, "vector-stores-link").is_displayed()
        browser.get(f"{origin}/playground/#/vector_stores")
        wait_text(browser, "#server-status", "connected")
        assert not browser.find_elements(By.ID, "vector-stores-view")
        return
    script = tmp_path / "file_search.json"
    script.write_text(json.dumps(FILE_SEARCH_RULES))
    notes = tmp_path / "parrot.md"
    notes.write_text("The lighthouse keeper's parrot is named Quasimodo.")

    browser.find_element(By.CSS_SELECTOR, "#files-link a").click()
    visible(browser, "#upload-form input[type=file]").send_keys(str(notes))
    browser.find_element(By.CSS_SELECTOR, "#upload-form button").click()
    wait_text(browser, "#files-view", "parrot.md")

    browser.find_element(By.CSS_SELECTOR, "#vector-stores-link a").click()
    fill(browser, "#vector-store-form [name=name]", "handbook")
    browser.find_element(By.XPATH, "//select[@name='file_ids']/option[text()='parrot.md']").click()
    browser.find_element(By.CSS_SELECTOR, "#vector-store-form button").click()
    store = visible(browser, "#vector-stores-view details[data-id]")
    store_id = store.get_attribute("data-id")

    def ingested(driver: WebDriver) -> bool:
        if "1/1 files ingested" in text_of(driver, "#vector-stores-view details"):
            return True
        driver.find_element(By.ID, "refresh-vector-stores").click()
        return False

    wait_for(browser, ingested, "the file to be ingested")
    visible(browser, "#vector-stores-view details summary").click()
    wait_text(browser, "#vector-stores-view details ul", "completed")
    screenshot(browser, "playground-vector-stores")

    browser.find_element(By.ID, "new-assistant").click()
    fill(browser, "#assistant-form [name=name]", "librarian")
    fill(browser, "#assistant-form [name=model]", f"scripted:{script}")
    browser.find_element(By.CSS_SELECTOR, "#assistant-form [name=file_search]").click()
    resources = {"file_search": {"vector_store_ids": [store_id]}}
    fill(browser, "#assistant-form [name=tool_resources]", json.dumps(resources))
    browser.find_element(By.ID, "save-assistant").click()
    visible(browser, "#chat-assistant").click()
    visible(browser, "#thread-id")
    send(browser, "What is the parrot called?")
    wait_text(browser, "#messages li.role-assistant:last-child", "The parrot is Quasimodo")
    wait_text(browser, "#runs .run-card .file-search", "parrot.md")
    wait_text(browser, "#runs .run-card .file-search", "Quasimodo")  # include[]: the content
    screenshot(browser, "playground-file-search")

    citation = visible(browser, "#messages li.role-assistant:last-child .text a.file-link")
    main_window = browser.current_window_handle
    citation.click()
    wait_for(browser, lambda d: len(d.window_handles) == 2, "the cited file to open")
    opened = next(h for h in browser.window_handles if h != main_window)
    browser.switch_to.window(opened)
    wait_for(browser, lambda d: "Quasimodo" in text_of(d, "body"), "the cited file's text")
    assert browser.current_url.startswith("blob:")
    browser.close()
    browser.switch_to.window(main_window)


def test_each_key_sees_its_own_project(
    browser: WebDriver, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With a keys file, the page shows only the objects of the key it was given, and keeps
    a list of threads per key."""
    tmp = tmp_path_factory.mktemp("projects")
    keys = tmp / "keys.txt"
    keys.write_text("sk-alpha alpha\nsk-beta beta\n")
    with start_server(db=str(tmp / "db.sqlite"), api_keys_file=keys) as server:
        origin = server.base_url.removesuffix("/v1")
        alpha = {"Authorization": "Bearer sk-alpha"}
        made = httpx2.post(
            f"{server.base_url}/assistants",
            json={"model": "gpt-4o", "name": "alpha bot"},
            headers=alpha,
        )
        assert made.status_code == 200

        open_fresh(browser, origin)
        enter_key(browser, "sk-beta")
        wait_text(browser, "#server-status", "connected")
        wait_text(browser, "#assistant-list", "none yet")
        browser.find_element(By.ID, "new-thread").click()
        beta_thread = visible(browser, "#thread-id").text

        browser.find_element(By.ID, "key-button").click()
        enter_key(browser, "sk-alpha")
        wait_text(browser, "#assistant-list", "alpha bot")
        wait_text(browser, "#thread-list", "none yet")
        assert beta_thread not in text_of(browser, "#thread-list")
        assert not browser.find_elements(By.ID, "thread-id")  # beta's thread left the screen


def test_a_server_going_away_mid_stream_shows_why_and_frees_the_composer(
    browser: WebDriver, tmp_path: Path
) -> None:
    """``serve`` without a key (no prompt) is stopped during a streamed answer: the page shows
    the stream's error event and that the server is gone, and the composer is usable again."""
    script = tmp_path / "slow.json"
    script.write_text(json.dumps(SCRIPT))
    server = start_cli_server(
        *("--db", str(tmp_path / "db.sqlite"), "--model", f"scripted:{script}"),
        log=tmp_path / "serve.log",
    )
    try:
        base_url = server.base_url
        origin = base_url.removesuffix("/v1")
        made = httpx2.post(f"{base_url}/assistants", json={"model": "gpt-4o", "name": "slow"})
        open_fresh(browser, origin)
        wait_text(browser, "#server-status", "connected")
        assert not browser.find_element(By.ID, "key-dialog").is_displayed()
        browser.get(f"{origin}/playground/#/assistants/{made.json()['id']}")
        visible(browser, "#chat-assistant").click()
        visible(browser, "#thread-id")
        send(browser, "take your time")
        wait_for(browser, lambda d: "word0" in last_answer_and_status(d)[0], "the answer")
        server.proc.send_signal(signal.SIGINT)  # Ctrl-C
        wait_text(browser, "#error-text", "The server is shutting down")
        wait_text(browser, "#error-text", "The server cannot be reached")
        wait_text(browser, "#server-status", "unreachable")
        wait_for(browser, lambda d: d.find_element(By.ID, "send").is_enabled(), "the composer")
        screenshot(browser, "playground-server-gone")
    finally:
        server.stop()
