using AWS, Dates
using AWS: AbstractAWSConfig
@service Marketplace_Metering

# AWS.jl has no endpoint setting: a config type of your own says where requests go
# (AWS.jl's README does the same for MinIO).
struct Meterd <: AbstractAWSConfig
    endpoint::String
    region::String
    creds::AWSCredentials
end
AWS.region(c::Meterd) = c.region
AWS.credentials(c::Meterd) = c.creds
AWS.generate_service_url(c::Meterd, service::String, resource::String) = string(c.endpoint, resource)

config = Meterd("http://127.0.0.1:4579", "us-east-1", AWSCredentials(ENV["AWS_ACCESS_KEY_ID"], ENV["AWS_SECRET_ACCESS_KEY"]))
out = Marketplace_Metering.batch_meter_usage("demo-product", [Dict(
    "Timestamp" => datetime2unix(now(UTC)), "CustomerIdentifier" => "demo-customer-1",
    "Dimension" => "requests", "Quantity" => 3,
)]; aws_config=config)
println(out["Results"][1]["Status"], " ", out["Results"][1]["MeteringRecordId"])
