"""Conditional requests through the O3-profile layer, sent by boto3.

Run by o3-profile-conditions.test.ts with one JSON argument (endpoint,
region, accessKeyId, secretAccessKey, bucket). Prints a JSON list of
{"case", "expected", "got"}; the test asserts that they agree. The ETags
sent are the ones the layer presented (base64), as a client sends them back.
"""

import base64
import datetime
import io
import json
import sys

import boto3
import botocore.exceptions
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

MiB = 1024 * 1024

args = json.loads(sys.argv[1])
bucket = args["bucket"]
s3 = boto3.client(
    "s3",
    endpoint_url=args["endpoint"],
    region_name=args["region"],
    aws_access_key_id=args["accessKeyId"],
    aws_secret_access_key=args["secretAccessKey"],
    # O3 refuses flexible checksums; path-style is the only addressing it offers.
    config=Config(
        s3={"addressing_style": "path"},
        retries={"max_attempts": 1},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    ),
)
results = []


def status(call):
    """The HTTP status of a call, and the S3 error code when it failed."""
    try:
        out = call()
        body = out.get("Body")
        if body is not None:
            body.read()
        return out["ResponseMetadata"]["HTTPStatusCode"], None
    except botocore.exceptions.ClientError as err:
        return err.response["ResponseMetadata"]["HTTPStatusCode"], err.response.get("Error", {}).get("Code")


def case(name, expected, call):
    results.append({"case": name, "expected": expected, "got": status(call)[0]})


put = s3.put_object(Bucket=bucket, Key="py/obj", Body=b"boto3 body")
etag = put["ETag"]
hex_etag = '"' + base64.b64decode(etag.strip('"')).hex() + '"'
modified = s3.head_object(Bucket=bucket, Key="py/obj")["LastModified"]
before = modified - datetime.timedelta(hours=1)
after = modified + datetime.timedelta(hours=1)
results.append({"case": "the presented ETag is base64", "expected": True, "got": etag.endswith('=="')})

for op in ("get_object", "head_object"):
    call = getattr(s3, op)
    case(f"{op} If-Match presented ETag", 200, lambda: call(Bucket=bucket, Key="py/obj", IfMatch=etag))
    case(f"{op} If-Match without quotes", 200, lambda: call(Bucket=bucket, Key="py/obj", IfMatch=etag.strip('"')))
    case(f"{op} If-Match upstream's hex ETag", 412, lambda: call(Bucket=bucket, Key="py/obj", IfMatch=hex_etag))
    case(f"{op} If-None-Match presented ETag", 304, lambda: call(Bucket=bucket, Key="py/obj", IfNoneMatch=etag))
    case(f"{op} If-None-Match other ETag", 200, lambda: call(Bucket=bucket, Key="py/obj", IfNoneMatch='"other"'))
    case(f"{op} If-Modified-Since after", 304, lambda: call(Bucket=bucket, Key="py/obj", IfModifiedSince=after))
    case(f"{op} If-Modified-Since before", 200, lambda: call(Bucket=bucket, Key="py/obj", IfModifiedSince=before))
    case(f"{op} If-Unmodified-Since before", 412, lambda: call(Bucket=bucket, Key="py/obj", IfUnmodifiedSince=before))
    case(f"{op} If-Unmodified-Since after", 200, lambda: call(Bucket=bucket, Key="py/obj", IfUnmodifiedSince=after))
    case(
        f"{op} If-Match true, If-Unmodified-Since false",
        200,
        lambda: call(Bucket=bucket, Key="py/obj", IfMatch=etag, IfUnmodifiedSince=before),
    )
    case(
        f"{op} If-None-Match true, If-Modified-Since false",
        200,
        lambda: call(Bucket=bucket, Key="py/obj", IfNoneMatch='"other"', IfModifiedSince=after),
    )
failed = status(lambda: s3.get_object(Bucket=bucket, Key="py/obj", IfMatch='"other"'))
results.append({"case": "get_object 412 error code", "expected": [412, "PreconditionFailed"], "got": list(failed)})
ranged = s3.get_object(Bucket=bucket, Key="py/obj", Range="bytes=0-4", IfMatch=etag)
results.append(
    {"case": "ranged get_object with If-Match", "expected": [206, b"boto3"], "got": [ranged["ResponseMetadata"]["HTTPStatusCode"], ranged["Body"].read()]}
)

case("put_object If-None-Match * on an existing key", 412, lambda: s3.put_object(Bucket=bucket, Key="py/obj", Body=b"x", IfNoneMatch="*"))
case("put_object If-None-Match * on a new key", 200, lambda: s3.put_object(Bucket=bucket, Key="py/new", Body=b"x", IfNoneMatch="*"))
case("put_object If-Match presented ETag", 200, lambda: s3.put_object(Bucket=bucket, Key="py/obj", Body=b"boto3 body", IfMatch=etag))
case("put_object If-Match other ETag", 412, lambda: s3.put_object(Bucket=bucket, Key="py/obj", Body=b"x", IfMatch='"other"'))

source = {"Bucket": bucket, "Key": "py/obj"}
for name, expected, kwargs in [
    ("CopySourceIfMatch presented ETag", 200, {"CopySourceIfMatch": etag}),
    ("CopySourceIfMatch other ETag", 412, {"CopySourceIfMatch": '"other"'}),
    ("CopySourceIfNoneMatch presented ETag", 412, {"CopySourceIfNoneMatch": etag}),
    ("CopySourceIfNoneMatch other ETag", 200, {"CopySourceIfNoneMatch": '"other"'}),
    ("CopySourceIfModifiedSince after", 412, {"CopySourceIfModifiedSince": after}),
    ("CopySourceIfModifiedSince before", 200, {"CopySourceIfModifiedSince": before}),
    ("CopySourceIfUnmodifiedSince before", 412, {"CopySourceIfUnmodifiedSince": before}),
    ("CopySourceIfUnmodifiedSince after", 200, {"CopySourceIfUnmodifiedSince": after}),
]:
    case(f"copy_object {name}", expected, lambda: s3.copy_object(Bucket=bucket, Key="py/copy", CopySource=source, **kwargs))


def complete(key, **conditions):
    """A two-part upload (5 MiB + 1 KiB) completed with `conditions`."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    for number, body in ((1, b"a" * (5 * MiB)), (2, b"b" * 1024)):
        part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=body)
        parts.append({"ETag": part["ETag"], "PartNumber": number})
    return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}, **conditions)


case("complete_multipart_upload If-None-Match * on a new key", 200, lambda: complete("py/mp", IfNoneMatch="*"))
mp_etag = s3.head_object(Bucket=bucket, Key="py/mp")["ETag"]
results.append({"case": "a multipart ETag keeps its -2", "expected": True, "got": mp_etag.endswith('==-2"')})
case("get_object If-Match multipart ETag", 200, lambda: s3.get_object(Bucket=bucket, Key="py/mp", IfMatch=mp_etag))
case("complete_multipart_upload If-None-Match * on an existing key", 412, lambda: complete("py/mp", IfNoneMatch="*"))
case("complete_multipart_upload If-Match other ETag", 412, lambda: complete("py/mp", IfMatch='"other"'))
case("complete_multipart_upload If-Match multipart ETag", 200, lambda: complete("py/mp", IfMatch=mp_etag))

# s3transfer sends If-Match with the ETag it was shown on the ranged GETs of
# a download, and CopySourceIfMatch on every UploadPartCopy of a copy.
# The hooks record what it sent, to show that the conditions were there.
sent = {"GetObject": [], "UploadPartCopy": []}


def record(operation, header):
    def hook(params, **_):
        headers = {name.lower(): value for name, value in params["headers"].items()}
        sent[operation].append(headers.get(header))

    s3.meta.events.register(f"before-call.s3.{operation}", hook)


record("GetObject", "if-match")
record("UploadPartCopy", "x-amz-copy-source-if-match")
transfer = TransferConfig(multipart_threshold=MiB, multipart_chunksize=MiB, max_concurrency=4)
downloaded = io.BytesIO()
s3.download_fileobj(bucket, "py/mp", downloaded, Config=transfer)
results.append({"case": "s3transfer ranged download", "expected": 5 * MiB + 1024, "got": len(downloaded.getvalue())})
# Its first ranged GET learns the ETag; the five after it send it back.
results.append({"case": "s3transfer sent If-Match on its ranged GETs", "expected": [None] + [mp_etag] * 5, "got": sorted(sent["GetObject"], key=bool)})
s3.copy({"Bucket": bucket, "Key": "py/mp"}, bucket, "py/mp-copy", Config=TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB))
copied = s3.head_object(Bucket=bucket, Key="py/mp-copy")
results.append({"case": "s3transfer multipart copy", "expected": 5 * MiB + 1024, "got": copied["ContentLength"]})
results.append({"case": "s3transfer sent CopySourceIfMatch on its 2 part copies", "expected": [mp_etag] * 2, "got": sent["UploadPartCopy"]})

print(json.dumps(results, default=lambda b: b.decode() if isinstance(b, bytes) else str(b)))
