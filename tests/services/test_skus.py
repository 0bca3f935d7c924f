"""Product names for SKUs from the shipped table derived from Microsoft's licensing reference."""
from services import skus


def test_lookup_by_id_is_case_insensitive():
    assert skus.product_name("CBDC14AB-D96C-4C30-B9F4-6ADA7CDC1D46", "SPB") == \
        "Microsoft 365 Business Premium"
    assert skus.product_name("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46") == "Microsoft 365 Business Premium"


def test_business_standard_is_not_premium():
    # Microsoft's own naming trap: O365_BUSINESS_PREMIUM is Business *Standard*.
    assert skus.product_name("f245ecc8-75af-4f8e-b61f-27d8114de5f3", "O365_BUSINESS_PREMIUM") == \
        "Microsoft 365 Business Standard"


def test_part_number_is_used_when_the_id_is_unknown():
    assert skus.product_name("00000000-1111-2222-3333-444444444444", "spb") == \
        "Microsoft 365 Business Premium"


def test_unknown_sku_shows_its_part_number_then_its_id():
    assert skus.product_name("00000000-1111-2222-3333-444444444444", "BRAND_NEW_SKU") == "BRAND_NEW_SKU"
    assert skus.product_name("00000000-1111-2222-3333-444444444444", None) == \
        "00000000-1111-2222-3333-444444444444"
    assert skus.product_name(None, None) == ""


def test_table_is_loaded_with_stripped_values_and_no_comment_rows():
    table = skus.known_skus()
    assert len(table) > 400
    assert all(s.product_name == s.product_name.strip() and s.part_number for s in table)
    assert not any(s.sku_id.startswith("#") for s in table)
    assert skus.part_number("CBDC14AB-D96C-4C30-B9F4-6ADA7CDC1D46") == "SPB"
    assert skus.lookup(part_number="nope") is None
