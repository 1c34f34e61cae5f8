namespace MoaGateway.ContainerTests.Infrastructure;

/// <summary>The container tests share one image build and run one after another, which suits a small machine.</summary>
[CollectionDefinition(Name)]
public sealed class SharedGatewayImage : ICollectionFixture<GatewayImage>
{
    public const string Name = "gateway image";
}
