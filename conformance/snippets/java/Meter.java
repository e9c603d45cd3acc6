import com.amazonaws.client.builder.AwsClientBuilder.EndpointConfiguration;
import com.amazonaws.services.marketplacemetering.AWSMarketplaceMetering;
import com.amazonaws.services.marketplacemetering.AWSMarketplaceMeteringClientBuilder;
import com.amazonaws.services.marketplacemetering.model.BatchMeterUsageRequest;
import com.amazonaws.services.marketplacemetering.model.UsageRecord;
import com.amazonaws.services.marketplacemetering.model.UsageRecordResult;
import java.util.Date;

public class Meter {
    public static void main(String[] args) {
        // The SDK v1 predates AWS_ENDPOINT_URL_MARKETPLACE_METERING: pass the endpoint
        // (http://127.0.0.1:4579) and its signing region. Keys come from AWS_ACCESS_KEY_ID.
        EndpointConfiguration meterd = new EndpointConfiguration(System.getenv("AWS_ENDPOINT_URL_MARKETPLACE_METERING"), "us-east-1");
        AWSMarketplaceMetering client = AWSMarketplaceMeteringClientBuilder.standard().withEndpointConfiguration(meterd).build();
        UsageRecordResult result = client.batchMeterUsage(new BatchMeterUsageRequest()
                .withProductCode("demo-product")
                .withUsageRecords(new UsageRecord().withTimestamp(new Date()).withCustomerIdentifier("demo-customer-1")
                        .withDimension("requests").withQuantity(3)))
                .getResults().get(0);
        System.out.println(result.getStatus() + " " + result.getMeteringRecordId());
    }
}
