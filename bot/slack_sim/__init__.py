"""A local Slack for tests and `atlas-access demo`: a fake Web API server and a driver that plays Slack's requests.

sim = FakeSlackWebAPI(token="xoxb-test").start()
sim.add_user("U1", name="ann", email="ann@example.com")
client = WebClient(token="xoxb-test", base_url=sim.url + "/api/")
driver = SlackDriver(app_url, signing_secret, sim)
driver.command("U1", text="request")
sim.wait_for(lambda s: s.calls_to("views.open"))
"""

from bot.slack_sim.driver import SlackDriver
from bot.slack_sim.payloads import state_values_for
from bot.slack_sim.records import ResponsePost, SlackCall, UploadedFile
from bot.slack_sim.server import FakeSlackWebAPI

__all__ = ["FakeSlackWebAPI", "ResponsePost", "SlackCall", "SlackDriver", "UploadedFile", "state_values_for"]
