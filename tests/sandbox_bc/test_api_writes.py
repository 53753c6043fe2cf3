"""API v2.0 writes: body validation, Code upper-casing, ETags and If-Match, number series and Manual Nos."""

from __future__ import annotations

from sandbox import constants as C

from ._client import company_path, us_id

CUSTOMERS = company_path() + "/customers"
PROJECTS = company_path() + "/projects"


def customer(bc, number: str = "C10000") -> dict:
    return bc.get(CUSTOMERS + "(%s)" % us_id("customers", number)).body


def test_post_answers_201_with_the_entity_and_a_location(bc):
    answer = bc.post(CUSTOMERS, {"displayName": "Northwind Traders", "city": "Redmond"})
    assert answer.status == 201
    assert answer.body["displayName"] == "Northwind Traders"
    assert answer.headers["Location"].endswith("/customers(%s)" % answer.body["id"])
    assert answer.headers["ETag"] == answer.body["@odata.etag"]


def test_a_text_longer_than_its_field_is_rejected_with_string_exceeded_length(bc):
    name = "x" * 101
    answer = bc.post(CUSTOMERS, {"displayName": name})
    assert answer.status == 400
    assert answer.error_code == "Application_StringExceededLength"
    assert answer.message == ("The length of the string is 101, but it must be less than or equal to 100 characters. "
                              "Value: " + name)


def test_code_values_are_upper_cased_on_write(bc):
    answer = bc.post(CUSTOMERS, {"displayName": "Lower Case Ltd.", "country": "de", "postalCode": "ab1 2cd"})
    assert (answer.body["country"], answer.body["postalCode"]) == ("DE", "AB1 2CD")


def test_code_length_is_checked_on_the_upper_cased_value_too(bc):
    answer = bc.post(CUSTOMERS, {"displayName": "Too long", "country": "abcdefghijk"})
    assert answer.error_code == "Application_StringExceededLength"
    assert "must be less than or equal to 10 characters" in answer.message


def test_a_read_only_field_in_the_body_is_rejected(bc):
    answer = bc.post(CUSTOMERS, {"displayName": "Read only", "balanceDue": 5})
    assert answer.status == 400
    assert answer.error_code == "BadRequest_InvalidOperation"
    assert answer.message == "Control 'balanceDue' is read-only."


def test_an_unknown_property_is_rejected(bc):
    answer = bc.post(CUSTOMERS, {"displayName": "X", "genBusPostingGroup": "DOMESTIC"})
    assert answer.status == 400
    assert answer.error_code == "BadRequest"
    assert answer.message == ("The property 'genBusPostingGroup' does not exist on type 'Microsoft.NAV.customer'. "
                              "Make sure to only use property names that are defined by the type.")


def test_a_value_of_the_wrong_json_type_is_rejected(bc):
    answer = bc.post(CUSTOMERS, {"displayName": "X", "creditLimit": "lots"})
    assert answer.status == 400
    assert answer.message == "Cannot convert the literal 'lots' to the expected type 'Edm.Decimal'."
    flag = bc.post(CUSTOMERS, {"displayName": "X", "taxLiable": "yes"})
    assert flag.message == "Cannot convert the literal 'yes' to the expected type 'Edm.Boolean'."


def test_an_enum_value_must_be_a_member_name(bc):
    answer = bc.post(CUSTOMERS, {"displayName": "X", "blocked": "Everything"})
    assert answer.status == 400
    assert answer.message.startswith("Cannot convert the literal 'Everything' to the expected type 'Microsoft.NAV.")
    ok = bc.post(CUSTOMERS, {"displayName": "X", "blocked": "Invoice", "type": "Person"})
    assert (ok.body["blocked"], ok.body["type"]) == ("Invoice", "Person")


def test_null_is_not_accepted_for_a_field(bc):
    answer = bc.post(CUSTOMERS, {"displayName": None})
    assert answer.status == 400
    assert "does not allow null values" in answer.message


def test_a_body_without_json_content_type_is_rejected(bc):
    answer = bc.post(CUSTOMERS, raw=b"displayName=X", content_type="application/x-www-form-urlencoded")
    assert answer.status == 415
    assert "media type 'application/x-www-form-urlencoded' is not supported" in answer.message


def test_a_customer_needs_a_display_name(bc):
    answer = bc.post(CUSTOMERS, {"city": "Atlanta"})
    assert answer.error_code == "Application_DialogException"
    assert answer.message == 'A "displayName" must be provided.'


def test_patch_without_if_match_is_rejected_as_bc_does(bc):
    target = CUSTOMERS + "(%s)" % us_id("customers", "C10000")
    answer = bc.patch(target, {"city": "Macon"}, etag=None)
    assert answer.status == 400
    assert answer.error_code == "BadRequest_InvalidToken"
    assert answer.message == ("Could not validate the client concurrency token required by the service. Please provide "
                              "a valid token in the client request.")


def test_patch_with_a_stale_etag_is_409_entity_changed(bc):
    target = CUSTOMERS + "(%s)" % us_id("customers", "C10000")
    etag = customer(bc)["@odata.etag"]
    first = bc.patch(target, {"city": "Macon"}, etag=etag)
    assert first.status == 200 and first.body["city"] == "Macon"
    assert first.body["@odata.etag"] != etag
    second = bc.patch(target, {"city": "Savannah"}, etag=etag)
    assert second.status == 409
    assert second.error_code == "Request_EntityChanged"
    assert second.message == "Another user has already changed the record."


def test_if_match_star_always_matches(bc):
    answer = bc.patch(CUSTOMERS + "(%s)" % us_id("customers", "C10000"), {"city": "Macon"}, etag="*")
    assert answer.status == 200


def test_delete_needs_if_match_and_answers_204(bc):
    created = bc.post(CUSTOMERS, {"displayName": "Short lived"}).body
    target = CUSTOMERS + "(%s)" % created["id"]
    assert bc.delete(target, etag=None).error_code == "BadRequest_InvalidToken"
    assert bc.delete(target, etag=created["@odata.etag"]).status == 204
    assert bc.get(target).status == 404


def test_read_only_entities_reject_post_patch_and_delete(bc):
    values = company_path() + "/dimensionValues"
    post = bc.post(values, {"code": "P-2000"})
    assert post.status == 405
    assert post.error_code == "BadRequest_MethodNotAllowed"
    assert post.message == ("'POST' requests for 'dimensionValues' of EdmEntityType are not allowed within "
                            "Dynamics 365 Business Central OData web services.")
    some = bc.get(values + "?$top=1").value[0]
    assert bc.patch(values + "(%s)" % some["id"], {"displayName": "x"}).error_code == "BadRequest_MethodNotAllowed"
    entry = bc.get(company_path() + "/generalLedgerEntries?$top=1").value[0]
    gl = company_path() + "/generalLedgerEntries(%s)" % entry["id"]
    assert bc.delete(gl).error_code == "BadRequest_MethodNotAllowed"
    assert bc.post("api/v2.0/companies", {"name": "New"}).error_code == "BadRequest_MethodNotAllowed"


def test_a_customer_number_is_drawn_from_the_series_when_not_given(bc):
    first = bc.post(CUSTOMERS, {"displayName": "One"}).body
    second = bc.post(CUSTOMERS, {"displayName": "Two"}).body
    assert (first["number"], second["number"]) == ("C00011", "C00012")


def test_a_supplied_customer_number_is_accepted_because_cust_has_manual_nos(bc):
    answer = bc.post(CUSTOMERS, {"displayName": "Chosen", "number": "psa-c-1"})
    assert answer.status == 201
    assert answer.body["number"] == "PSA-C-1"


def test_a_duplicate_number_is_entity_with_same_key_exists(bc):
    answer = bc.post(CUSTOMERS, {"displayName": "Again", "number": "C10000"})
    assert answer.status == 400
    assert answer.error_code == "Internal_EntityWithSameKeyExists"
    assert answer.message == "The Customer already exists. Identification fields and values: No.='C10000'"


def test_a_project_number_is_refused_while_job_has_no_manual_nos(bc, world):
    refused = bc.post(PROJECTS, {"number": "P-77", "displayName": "Chosen number"})
    assert refused.status == 400
    assert refused.error_code == "Application_DialogException"
    assert refused.message == ("You may not enter numbers manually. If you want to enter numbers manually, please "
                               "activate Manual Nos. in No. Series JOB.")
    drawn = bc.post(PROJECTS, {"displayName": "Drawn number"})
    assert drawn.body["number"] == "J00011"
    world.set_manual_nos(C.TENANT_ID, C.ENVIRONMENT, C.US_COMPANY, "JOB", True)
    assert bc.post(PROJECTS, {"number": "P-77", "displayName": "Chosen number"}).status == 201


def test_a_reference_by_code_must_exist(bc):
    answer = bc.post(CUSTOMERS, {"displayName": "X", "currencyCode": "XYZ"})
    assert answer.error_code == "Application_DialogException"
    assert answer.message == 'The "currencyCode" does not match to a Currency.'
    local = bc.post(CUSTOMERS, {"displayName": "Y", "currencyCode": "USD"}).body
    assert (local["currencyCode"], local["currencyId"]) == ("USD", "00000000-0000-0000-0000-000000000000")
    euro = bc.post(CUSTOMERS, {"displayName": "Z", "currencyCode": "eur"}).body
    assert euro["currencyId"] == us_id("currencies", "EUR")


def test_a_customer_tax_area_follows_the_tax_mode_of_the_company(bc):
    area = us_id("taxAreas", "CHICAGO, IL")
    created = bc.post(CUSTOMERS, {"displayName": "Taxed", "taxLiable": True, "taxAreaId": area}).body
    assert created["taxAreaDisplayName"] == "Chicago, Illinois"
    card = bc.get("ODataV4/Company('CRONUS%%20USA%%2C%%20Inc.')/Customer_Card('%s')" % created["number"]).body
    assert card["Tax_Area_Code"] == "CHICAGO, IL"


def test_deep_update_is_not_supported(bc):
    invoice = bc.get(company_path() + "/salesInvoices?$filter=number eq 'S-INV100002'").value[0]
    answer = bc.patch(company_path() + "/salesInvoices(%s)" % invoice["id"], {"salesInvoiceLines": []})
    assert answer.status == 400
    assert "deep update is not supported" in answer.message


def test_data_access_intent_read_only_is_refused_for_writes(bc):
    answer = bc.post(CUSTOMERS, {"displayName": "X"}, headers={"Data-Access-Intent": "ReadOnly"})
    assert answer.status == 400
    assert "Data-Access-Intent" in answer.message


def test_two_concurrent_writers_with_the_same_etag_cannot_both_win(bc, world):
    import threading

    from ._client import Client

    target = CUSTOMERS + "(%s)" % us_id("customers", "C20000")
    etag = bc.get(target).body["@odata.etag"]
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def writer(city: str) -> None:
        client = Client(world)
        barrier.wait()
        statuses.append(client.patch(target, {"city": city}, etag=etag).status)

    threads = [threading.Thread(target=writer, args=(city,)) for city in ("Macon", "Savannah")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409]
