#!/usr/bin/env python3
"""Drives the ocs dashboard in headless Chromium (Selenium + chromedriver).

Signs in with a publisher token through the real sign-in form (its CSRF token and pre-session
cookie), opens every page, checks that markup injected through a host's
User-Agent and a rule's description is shown as text and never runs (no alert, no element made
from it, no CSP report in the console), publishes a draft through its form (ticking everyone, as a
first publish names its release), retires it only once confirmed with a reason, narrows the
published rule only with the narrow box and a reason and finds the host it was taken from marked
so, signs out, and checks a reader sees no buttons. Optionally saves a screenshot of the overview,
and of the exposed list and a host page at a laptop's and a large monitor's sizes. Every wait is
bounded.

usage: dashboard_test.py --base URL --token PUBLISHER --reader-token READER --draft RULE
                         --published RULE --evil-host NAME --evil-agent TEXT --evil-description TEXT
                         --narrow-group GROUP --narrowed-host NAME [--screenshot PATH] [--screenshots DIR]
"""
import argparse
import sys

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 20


def main():
    parser = argparse.ArgumentParser()
    for name in ["base", "token", "reader-token", "draft", "published", "evil-host", "evil-agent", "evil-description",
                 "narrow-group", "narrowed-host"]:
        parser.add_argument("--" + name, required=True)
    parser.add_argument("--screenshot")
    parser.add_argument("--screenshots", help="a folder: the exposed list and a host page at laptop and monitor sizes")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()

    options = webdriver.ChromeOptions()
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000",
                 "--no-first-run", "--disable-extensions", "--force-device-scale-factor=1"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(args.chromedriver), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(10)
    wait = WebDriverWait(driver, WAIT)
    base = args.base.rstrip("/")
    opened = []

    def check_inert(refused=None):
        """`refused`: the status a page was expected to answer with (Chromium logs it as SEVERE)."""
        try:
            alert = driver.switch_to.alert
            fail(f"an alert opened on {driver.current_url}: {alert.text!r}")
        except NoAlertPresentException:
            pass
        if driver.find_elements(By.TAG_NAME, "script"):
            fail(f"a <script> element exists on {driver.current_url}")
        for entry in driver.get_log("browser"):
            if refused and entry.get("message", "").endswith(f"the server responded with a status of {refused}"):
                continue
            if "Content Security Policy" in entry.get("message", "") or entry.get("level") == "SEVERE":
                fail(f"console on {driver.current_url}: {entry['message']}")

    def fail(message):
        print("browser: FAIL: " + message)
        try:
            print(driver.page_source[:3000])
        except Exception:
            pass
        driver.quit()
        sys.exit(1)

    def visit(path, marker):
        driver.get(base + path)
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, marker)))
        check_inert()
        opened.append(path)

    def sign_in(token):
        wait.until(EC.presence_of_element_located((By.ID, "token"))).send_keys(token)
        # The form carries the token of its pre-session cookie (login CSRF); the browser posts both.
        if not driver.find_elements(By.CSS_SELECTOR, "form[action='/ui/login'] input[type='hidden'][name='csrf']"):
            fail("the sign-in form has no CSRF token")
        driver.find_element(By.ID, "sign-in").click()
        wait.until(EC.presence_of_element_located((By.ID, "hosts-total")))

    try:
        # A page without a session lands on the sign-in form.
        driver.get(base + "/ui/hosts")
        wait.until(EC.url_contains("/ui/login"))
        sign_in(args.token)
        check_inert()
        print(f"browser: signed in; overview shows {driver.find_element(By.ID, 'hosts-total').text} hosts")

        # The exposed headline leads to the list, each host with why.
        driver.find_element(By.ID, "exposed-link").click()
        wait.until(EC.presence_of_element_located((By.ID, "exposed-total")))
        check_inert()
        exposed = driver.find_elements(By.CSS_SELECTOR, "table#exposed tbody tr")
        if not exposed or "exposed:" not in exposed[0].text:
            fail("the exposed headline does not lead to a list of hosts with why")
        if not any("(fixed by Oct22SU)" in row.text for row in exposed):
            fail("the exposed list does not name the update that fixes M1")
        print(f"browser: the exposed headline lists {len(exposed)} hosts with why: {exposed[0].text.splitlines()[0]}")

        visit("/ui/rules", "table#rules")
        visit("/ui/hosts", "table#hosts")
        visit("/ui/hosts?stale=false&name=" + args.evil_host[:3], "table#hosts")
        visit("/ui/audit", "table#audit")
        visit(f"/ui/rules/{args.published}", "#coverage")
        visit(f"/ui/rules/{args.published}/hosts?state=pending", "h1")

        # The host whose User-Agent is markup: its page shows the text, nothing runs.
        driver.get(base + "/ui/hosts?name=" + args.evil_host)
        link = wait.until(EC.element_to_be_clickable((By.LINK_TEXT, args.evil_host)))
        if args.evil_agent not in driver.find_element(By.ID, "hosts").text:
            fail("the User-Agent is not shown as text in the host list")
        link.click()
        agent = wait.until(EC.presence_of_element_located((By.ID, "host-user-agent")))
        check_inert()
        if agent.text != args.evil_agent:
            fail(f"the host page shows User-Agent {agent.text!r}, not {args.evil_agent!r}")
        print(f"browser: host page shows the User-Agent as text: {agent.text}")
        # Every published rule's state on the host, in words, with why.
        standings = driver.find_elements(By.CSS_SELECTOR, "table#host-rules tbody tr")
        if not standings:
            fail("the host page shows no published rule's state")
        for row in standings:
            cells = row.find_elements(By.TAG_NAME, "td")
            if len(cells) != 3 or not cells[2].text or "notApplicable" in cells[1].text:
                fail(f"a rule's state on the host page reads {row.text!r}")
        print(f"browser: host page shows each published rule's state and why: {standings[0].text}")

        # The draft whose description is markup: shown as text; published through its form.
        visit(f"/ui/rules/{args.draft}", "#rule-description")
        description = driver.find_element(By.ID, "rule-description")
        if description.text != args.evil_description or description.find_elements(By.XPATH, "./*"):
            fail(f"the rule description renders as {description.get_attribute('innerHTML')!r}")
        print(f"browser: rule description shown as text: {description.text}")
        # A first publish names its release: tick everyone (it is not ticked by default).
        everyone = driver.find_element(By.ID, "rule-publish-everyone")
        if everyone.is_selected():
            fail("the publish form ticks everyone by default")
        everyone.click()
        driver.find_element(By.ID, "rule-publish").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "rule-state"), "published"))
        if driver.find_element(By.ID, "rule-release").text != "everyone":
            fail(f"the rule page says it is released to {driver.find_element(By.ID, 'rule-release').text!r}")
        check_inert()
        if "Published." not in driver.find_element(By.TAG_NAME, "main").text:
            fail("no notice after publishing")
        print(f"browser: published {args.draft} through its form")

        visit("/ui/", "#hosts-total")
        if not driver.find_elements(By.CSS_SELECTOR, f"svg.bar a[href^='/ui/rules/{args.draft}/hosts']") \
                and not driver.find_elements(By.XPATH, f"//a[starts-with(@href, '/ui/rules/{args.draft}/hosts')]"):
            fail("the overview has no coverage links for the rule just published")
        if args.screenshot:
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1280, min(max(height, 800), 2400))
            driver.save_screenshot(args.screenshot)
            print(f"browser: saved the overview to {args.screenshot}")

        # Retiring takes the rule from the hosts that have it: the form is not sent without its
        # confirmation and a reason; with both, the rule is retired.
        visit(f"/ui/rules/{args.draft}", "#rule-retire")
        driver.find_element(By.ID, "rule-retire").click()
        if driver.find_element(By.ID, "rule-state").text != "published":
            fail("Retire was sent without its confirmation and reason")
        driver.find_element(By.ID, "rule-retire-confirm").click()
        driver.find_element(By.ID, "rule-retire-reason").send_keys("INC-42")
        driver.find_element(By.ID, "rule-retire").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "rule-state"), "retired"))
        check_inert()
        print(f"browser: {args.draft} retired only once confirmed with a reason")

        # Narrowing takes the published rule from hosts outside the new release that have it
        # applied: refused without the narrow box, refused without a reason, done with both; the
        # host it was taken from then shows the rule as removed by narrowing, with the reason.
        def publish_to(group, narrow, reason, refused=None):
            visit(f"/ui/rules/{args.published}", "#rule-publish")
            driver.find_element(By.ID, "rule-publish-to").send_keys(group)
            if narrow:
                driver.find_element(By.ID, "rule-publish-narrow").click()
            if reason:
                driver.find_element(By.ID, "rule-publish-reason").send_keys(reason)
            driver.find_element(By.ID, "rule-publish").click()
            wait.until(EC.presence_of_element_located((By.ID, "rule-release")))
            check_inert(refused)
            notice = driver.find_elements(By.CSS_SELECTOR, ".notice.error")
            return notice[0].text if notice else ""
        refused = publish_to(args.narrow_group, False, "INC-43", "409 (Conflict)")
        if "would stop serving it to" not in refused or driver.find_element(By.ID, "rule-release").text != "everyone":
            fail(f"a narrowing publish without the narrow box was not refused: {refused!r}")
        unexplained = publish_to(args.narrow_group, True, None, "422 (Unprocessable Entity)")
        if "give the reason" not in unexplained or driver.find_element(By.ID, "rule-release").text != "everyone":
            fail(f"a narrowing publish without a reason was not refused: {unexplained!r}")
        publish_to(args.narrow_group, True, "INC-43")
        if args.narrow_group not in driver.find_element(By.ID, "rule-release").text:
            fail(f"the narrowing publish with both did not happen: {driver.find_element(By.ID, 'rule-release').text!r}")
        if not driver.find_elements(By.ID, "coverage-narrowed"):
            fail("the rule page does not count the hosts the narrowing took it from")
        print(f"browser: narrowing {args.published} refused without the box and without a reason, done with both")
        visit(f"/ui/hosts/{args.narrowed_host}", "#host-rules")
        row = [r for r in driver.find_elements(By.CSS_SELECTOR, "table#host-rules tbody tr") if r.text.startswith(args.published)]
        if not row or "removed by narrowing" not in row[0].text or "INC-43" not in row[0].text:
            fail(f"the host the narrowing took {args.published} from reads {row[0].text if row else None!r}")
        print(f"browser: {args.narrowed_host} shows {row[0].text}")
        if args.screenshots:
            # As a laptop and a large monitor show them: the exposed list and a host's page.
            for width, height, name in [(1366, 768, "laptop"), (2560, 1440, "monitor")]:
                driver.set_window_size(width, height)
                for path, marker, page in [("/ui/exposed", "#exposed-total", "exposed"), (f"/ui/hosts/{args.narrowed_host}", "#host-rules", "host")]:
                    visit(path, marker)
                    target = f"{args.screenshots}/dashboard-{page}-{name}.png"
                    driver.save_screenshot(target)
                    print(f"browser: saved {path} at {width}x{height} to {target}")
            driver.set_window_size(1280, 1000)

        # Sign out: the session is gone.
        driver.find_element(By.XPATH, "//button[text()='Sign out']").click()
        wait.until(EC.url_contains("/ui/login"))
        driver.get(base + "/ui/")
        wait.until(EC.url_contains("/ui/login"))
        print("browser: signed out")

        # A reader sees no buttons.
        sign_in(args.reader_token)
        visit(f"/ui/rules/{args.draft}", "#rule-state")
        if driver.find_elements(By.CSS_SELECTOR, "form[action*='/rules/'] button"):
            fail("a reader is shown rule buttons")
        print("browser: a reader sees no rule buttons")
        print("browser: ok: opened " + ", ".join(opened))
    except Exception as error:  # any timeout or missing element
        fail(f"{type(error).__name__}: {error}")
    driver.quit()


if __name__ == "__main__":
    main()
