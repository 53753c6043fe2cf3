"""The Functions app: registers the blueprints and nothing else.

HTTP routes default to function-key auth; the few anonymous ones say so where they are declared.
"""

import azure.functions as func

from functions.connectors_api import bp as connectors_api
from functions.consent import bp as consent
from functions.expenses import bp as expenses
from functions.exports import bp as exports
from functions.poison import bp as poison
from functions.upkeep import bp as upkeep
from functions.webhooks import bp as webhooks

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(connectors_api)
app.register_functions(consent)
app.register_functions(expenses)
app.register_functions(exports)
app.register_functions(poison)
app.register_functions(upkeep)
app.register_functions(webhooks)
