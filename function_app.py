"""The Functions app: registers the blueprints and nothing else.

HTTP routes default to function-key auth; the few anonymous ones say so where they are declared.
"""

import azure.functions as func

from functions.connectors_api import bp as connectors_api

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(connectors_api)
