import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import type { Environment } from './environment';

/**
 * Serves the environment, validated once at start (`loadEnvironment`), through
 * `ConfigService<Environment, true>` everywhere. Tests build theirs with overrides instead
 * of touching process.env.
 */
@Module({})
export class AppConfigModule {
  static forRoot(environment: Environment): DynamicModule {
    return {
      module: AppConfigModule,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          skipProcessEnv: true,
          validatePredefined: false,
          load: [
            () => ({
              ...environment,
              publicUrl: environment.publicUrl,
              paymentSimulator: environment.paymentSimulator,
            }),
          ],
        }),
      ],
      exports: [ConfigModule],
    };
  }
}
