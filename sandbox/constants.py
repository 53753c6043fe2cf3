"""Well-known identities of the bundled sandbox world.

These are sandbox-only values (like stripe-mock's fixtures): never real tenants, apps or secrets.
The fixtures in `sandbox/fixtures/` use them; tests, benchmarks and `make run` import them from here.
"""

#: The Entra tenant of the demo world, by GUID and by domain (BC accepts either in URLs).
TENANT_ID = "7d3a1c52-6b1e-4c1f-9d2a-0b5f3e8c4a11"
TENANT_DOMAIN = "contoso-sandbox.onmicrosoft.com"

#: A second tenant, so tests can prove that state never leaks between tenants.
OTHER_TENANT_ID = "c0ffee00-1111-4222-8333-944455556666"
OTHER_TENANT_DOMAIN = "fabrikam-sandbox.onmicrosoft.com"

#: BC environments of TENANT_ID.
ENVIRONMENT = "Production"
SANDBOX_ENVIRONMENT = "Sandbox"

#: The multi-tenant app registration the connector uses (BC_CLIENT_ID). Registered in Entra and
#: enabled on BC's "Microsoft Entra applications" page of both environments.
DEMO_CLIENT_ID = "3f9b6c1e-2a4d-4e8f-9b7a-5c6d7e8f9a01"
DEMO_CLIENT_SECRET = "sandbox-demo-secret-not-for-production"

#: Registered in Entra but NOT enabled in BC: tokens are issued, BC answers 401.
UNREGISTERED_IN_BC_CLIENT_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
UNREGISTERED_IN_BC_CLIENT_SECRET = "sandbox-secret-of-app-not-enabled-in-bc"

#: The demo user for the delegated (authorization code) flow.
DEMO_USER = "admin@contoso-sandbox.onmicrosoft.com"

#: Companies. The US one uses sales tax; the VAT one has a comma, a slash and an ampersand
#: in its name (the cases Moment's docs and ALAppExtensions#466 warn about).
US_COMPANY = "CRONUS USA, Inc."
VAT_COMPANY = "Müller & Söhne, Nord/Süd"  # BC company names are Text[30]

#: The resource (audience) of BC tokens. It does not change with BC_API_URL: the sandbox accepts it.
BC_RESOURCE = "https://api.businesscentral.dynamics.com"
